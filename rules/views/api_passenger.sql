-- api_passenger: one row per passenger of the latest PAXLST (API) list of each flight, with the PNR
-- traveller it links to in traveller_journey. A passenger with no link boarded without a PNR in
-- the pushes (a go-show, a PNR the airline never pushed) or is not the person who was booked.
-- Rules score PNR travellers, so this view is for review and for queries (`paxrisk query` over
-- the landing tables, or a rule author's checks); traveller_journey carries the link back.
--
-- key: api_traveller_id
WITH
-- Pushes in the order in which their lists supersede each other: by preparation time (a push
-- without one first), then by push_id. Only the key goes through the window's sort (see
-- traveller_journey's `pushes`).
pushes AS (
    SELECT p.push_id, ROW_NUMBER() OVER (ORDER BY p.prepared_at_utc ASC NULLS FIRST, p.push_id ASC) AS push_rank
    FROM push p
),
-- list_key orders the entries of one person: the later list wins, and within one list (a person
-- named twice in it) the first entry. (Offsets are below 2^40 bytes, so the list decides first.)
listed AS (
    SELECT a.*, p.push_rank * 1099511627776 - a.source_offset AS list_key
    FROM api_traveller a
    JOIN pushes p ON p.push_id = a.push_id
    WHERE a.role IN ('passenger', 'in_transit_passenger')
),
-- Each person from the latest list that names them. GROUP BY and a join instead of ROW_NUMBER()
-- OVER (PARTITION BY the person): DataFusion computes a window partition by partition.
newest AS (
    SELECT api_traveller_id, MAX(list_key) AS list_key FROM listed GROUP BY api_traveller_id
),
-- newest first, so that the join builds its hash table on its two columns, not on listed's
-- thirty-six (see traveller_journey's api_latest).
latest AS (
    SELECT l.*
    FROM newest n
    JOIN listed l ON l.api_traveller_id = n.api_traveller_id AND l.list_key = n.list_key
)
SELECT
    l.api_traveller_id AS api_traveller_id, -- Key: the API passenger.
    concat(l.flight_carrier, l.flight_number) AS flight, -- Reported flight, carrier and number.
    l.dep_date AS flight_dep_date, -- Local departure date of the reported flight.
    l.dep_airport AS flight_dep_airport, -- Departure airport of the reported leg.
    l.arr_airport AS flight_arr_airport, -- Arrival airport of the reported leg.
    l.surname AS surname, -- Surname as listed in API.
    l.given_name AS given_name, -- Given name as listed in API.
    l.record_locator AS record_locator, -- RFF AVF: the record locator the airline gave, if any.
    l.doc_number AS doc_number, -- Document number read at check-in.
    l.embark_airport AS embark_airport, -- LOC 178.
    l.debark_airport AS debark_airport, -- LOC 179.
    j.journey_id IS NOT NULL AS pnr_linked, -- A PNR traveller of the pushes links to this passenger.
    j.journey_id AS journey_id, -- The linked traveller's journey (traveller_journey key).
    j.traveller_id AS traveller_id, -- The linked PNR traveller.
    j.api_link_method AS link_method, -- How the link was made.
    l.source_file AS source_file, -- Input file of the API list.
    l.source_offset AS source_offset -- Byte offset of the passenger's NAD.
FROM latest l
LEFT JOIN traveller_journey j ON j.api_traveller_id = l.api_traveller_id
