-- traveller_journey: one row per traveller on a pushed flight, taken from the latest version of the
-- PNR pushed for that flight (highest prepared_at_utc, then push_id; the first copy in the file if
-- one push sends the PNR twice). Older versions stay in the landing tables as history; only
-- `versions_seen` and the history counts look at them.
--
-- Conventions, so that rules never do time arithmetic themselves:
--   * every duration is a number of hours or days computed here from UTC instants;
--   * columns ending in _utc are UTC instants, columns ending in _local are airport wall-clock
--     times; the two are never compared or subtracted;
--   * NULL means "not known from the data", never "no".
-- Columns marked [sensitive] reveal nationality or sex: `rules check` refuses a rule that uses them
-- (EU Directive 2016/681 Art. 6(4)); they are here for the review list only.
--
-- key: journey_id
WITH
-- Pushes in the order in which their PNR versions supersede each other: by preparation time (a
-- push without one first), then by push_id. One window over the pushes, not one per PNR. Only the
-- columns used below go through the window's sort: with `p.*` it carried source_file, a dictionary
-- column in memory, whose values the sort's merge copied again for every batch it built (0.1-0.3 s
-- at a million PNRs, 0.5-0.6 s in the machine's slow periods, against 0.02-0.04 s without).
pushes AS (
    SELECT p.push_id, p.flight_carrier, p.flight_number, p.dep_date, p.dep_airport, p.arr_airport, p.dep_local,
           p.dep_utc, ROW_NUMBER() OVER (ORDER BY p.prepared_at_utc ASC NULLS FIRST, p.push_id ASC) AS push_rank
    FROM push p
),
-- Every version of every PNR, with the pushed flight it came for. version_key orders the versions
-- of a PNR: the later push wins, and within one push (a PNR sent twice in it) the first in the file.
-- (Offsets are below 2^40 = 1099511627776 bytes, so the push always decides first.)
version AS (
    SELECT r.pnr_id, r.push_id, r.carrier, r.record_locator, r.created_at_utc, r.ticketed_at_utc,
           r.agency_iata, r.agent_type, r.booking_country, r.booking_location, r.city_of_sale, r.party_size,
           r.is_group, r.split_count, r.source_file, r.source_offset,
           p.flight_carrier, p.flight_number, p.dep_date AS flight_dep_date, p.dep_airport AS flight_dep_airport,
           p.arr_airport AS flight_arr_airport, p.dep_local AS flight_dep_local, p.dep_utc AS push_dep_utc,
           p.push_rank * 1099511627776 - r.source_offset AS version_key
    FROM pnr r
    JOIN pushes p ON p.push_id = r.push_id
),
-- The newest version of each PNR per pushed flight. GROUP BY and a join instead of ROW_NUMBER()
-- OVER (PARTITION BY the PNR): DataFusion computes a window partition by partition, which took
-- seconds per 100,000 PNRs.
newest AS (
    SELECT pnr_id, COUNT(*) AS versions_seen, MAX(version_key) AS version_key
    FROM version
    GROUP BY pnr_id, flight_carrier, flight_number, flight_dep_date
),
-- latest_key numbers the rows of `latest`, one per pair of text ids (pnr_id, push_id), in no
-- particular order: from `air` on, the joins and groups of a PNR version hash and compare that
-- number instead of 34 bytes of text (with `pay` below, a tenth of the views' time at 100,000
-- PNRs). No output holds it. (version_key cannot serve: the parts of one push can come from several files, and two of
-- its PNRs can then have the same offset.)
latest AS (
    SELECT v.*, n.versions_seen, ROW_NUMBER() OVER () AS latest_key
    FROM version v
    JOIN newest n ON n.pnr_id = v.pnr_id AND n.version_key = v.version_key
),
-- Each airport's coordinates as numbers (the pack's CSV tables are text): cast once per airport
-- here rather than once per flown segment in `air`, whose joins then carry numbers, not text.
airports AS (
    SELECT iata, country, CAST(lat AS DOUBLE) AS lat, CAST(lon AS DOUBLE) AS lon FROM ref_airports
),
-- Flown air segments of the latest versions (cancelled, unconfirmed and no-show segments left out).
air AS (
    SELECT v.latest_key, l.seq, l.dep_airport, l.arr_airport, l.dep_utc, l.arr_utc, l.is_pushed_flight,
           l.operating_carrier, da.country AS dep_country, aa.country AS arr_country,
           da.lat AS dep_lat, da.lon AS dep_lon, aa.lat AS arr_lat, aa.lon AS arr_lon
    FROM leg l
    JOIN latest v ON v.pnr_id = l.pnr_id AND v.push_id = l.push_id
    LEFT JOIN airports da ON da.iata = l.dep_airport
    LEFT JOIN airports aa ON aa.iata = l.arr_airport
    WHERE l.segment_type = 'air'
      AND COALESCE(l.status, '') NOT IN ('HX', 'XX', 'UN', 'UC', 'NO', 'XK', 'XL')
),
-- The next flown segment after each one (the lowest higher seq), found by a join and GROUP BY
-- instead of LEAD() OVER (PARTITION BY the PNR), for the same reason as `newest`.
next_seq AS (
    SELECT a.latest_key, a.seq, MIN(b.seq) AS next_seq
    FROM air a
    JOIN air b ON b.latest_key = a.latest_key AND b.seq > a.seq
    GROUP BY a.latest_key, a.seq
),
next_leg AS (
    SELECT x.latest_key, x.seq, MIN(n.dep_airport) AS next_dep_airport,
           MIN(n.arr_country) AS next_arr_country, MIN(n.dep_utc) AS next_dep_utc
    FROM next_seq x
    JOIN air n ON n.latest_key = x.latest_key AND n.seq = x.next_seq
    GROUP BY x.latest_key, x.seq
),
-- Each segment with the gap to the next one: a connection (same airport, under 24 h) or a stop.
gaps AS (
    SELECT a.*,
           n.next_dep_airport,
           n.next_arr_country,
           (to_unixtime(n.next_dep_utc) - to_unixtime(a.arr_utc)) / 3600.0 AS gap_hours,
           2 * 6371 * asin(sqrt(
               power(sin(radians(a.arr_lat - a.dep_lat) / 2), 2)
               + cos(radians(a.dep_lat)) * cos(radians(a.arr_lat)) * power(sin(radians(a.arr_lon - a.dep_lon) / 2), 2)
           )) AS leg_km
    FROM air a
    LEFT JOIN next_leg n ON n.latest_key = a.latest_key AND n.seq = a.seq
),
stops AS (
    SELECT g.*,
           g.next_dep_airport IS NOT NULL AND g.next_dep_airport = g.arr_airport
               AND (g.gap_hours IS NULL OR g.gap_hours < 24) AS is_connection,
           g.next_dep_airport IS NOT NULL AND (g.next_dep_airport <> g.arr_airport OR g.gap_hours >= 24) AS is_stop,
           g.next_dep_airport IS NOT NULL AND g.next_dep_airport <> g.arr_airport AS is_surface
    FROM gaps g
),
-- The itinerary of each PNR version. Written without ordered or DISTINCT aggregates over text,
-- which DataFusion computes group by group (seconds per 100,000 PNRs): the end points are looked
-- up by their sequence number instead of first_value/last_value ORDER BY seq.
itin_base AS (
    SELECT latest_key,
           COUNT(*) AS leg_count,
           MIN(seq) AS first_seq,
           MAX(seq) AS last_seq,
           SUM(CASE WHEN is_connection THEN 1 ELSE 0 END) AS connections,
           SUM(CASE WHEN is_stop THEN 1 ELSE 0 END) AS stops,
           SUM(CASE WHEN is_surface THEN 1 ELSE 0 END) AS surface_gaps,
           MAX(CASE WHEN is_connection THEN gap_hours END) AS max_connection_hours,
           MIN(CASE WHEN is_connection THEN gap_hours END) AS min_connection_hours,
           MAX(gap_hours) AS max_gap_hours,
           -- Summed exactly: a float sum depends on the order the rows arrive in, which varies
           -- from run to run, and two runs must give the same rows.
           CAST(SUM(CAST(leg_km AS DECIMAL(38, 12))) AS DOUBLE) AS journey_km,
           MAX(leg_km) AS max_leg_km,
           MIN(CASE WHEN is_pushed_flight THEN seq END) AS pushed_leg_seq,
           MIN(CASE WHEN is_pushed_flight THEN dep_utc END) AS pushed_leg_dep_utc,
           MIN(CASE WHEN is_pushed_flight THEN dep_country END) AS pushed_dep_country,
           MIN(CASE WHEN is_pushed_flight THEN arr_country END) AS pushed_arr_country,
           MIN(CASE WHEN is_pushed_flight AND is_connection THEN next_arr_country END) AS connecting_to_country
    FROM stops
    GROUP BY latest_key
),
-- The segment after which the longest gap comes (the first of equals); none without any gap.
itin_longest AS (
    SELECT s.latest_key, MIN(s.seq) AS longest_seq
    FROM stops s
    JOIN itin_base b ON b.latest_key = s.latest_key AND s.gap_hours = b.max_gap_hours
    GROUP BY s.latest_key
),
itin_ends AS (
    SELECT b.latest_key,
           MIN(CASE WHEN s.seq = b.first_seq THEN s.dep_airport END) AS origin_airport,
           MIN(CASE WHEN s.seq = b.first_seq THEN s.dep_country END) AS origin_country,
           MIN(CASE WHEN s.seq = b.last_seq THEN s.arr_airport END) AS final_airport,
           MIN(CASE WHEN s.seq = b.last_seq THEN s.arr_country END) AS final_country,
           MIN(CASE WHEN s.seq = COALESCE(l.longest_seq, b.first_seq) THEN s.arr_airport END) AS longest_gap_airport,
           MIN(CASE WHEN s.seq = COALESCE(l.longest_seq, b.first_seq) THEN s.arr_country END) AS longest_gap_country
    FROM itin_base b
    JOIN stops s ON s.latest_key = b.latest_key
    LEFT JOIN itin_longest l ON l.latest_key = b.latest_key
    GROUP BY b.latest_key
),
itin_carriers AS (
    SELECT latest_key, COUNT(*) AS carrier_count
    FROM (SELECT DISTINCT latest_key, operating_carrier FROM stops WHERE operating_carrier IS NOT NULL) c
    GROUP BY latest_key
),
itin AS (
    SELECT b.latest_key, b.leg_count, e.origin_airport, e.origin_country, e.final_airport, e.final_country,
           b.connections, b.stops, b.surface_gaps, b.max_connection_hours, b.min_connection_hours, b.max_gap_hours,
           e.longest_gap_airport, e.longest_gap_country, b.journey_km, b.max_leg_km,
           COALESCE(c.carrier_count, 0) AS carrier_count, b.pushed_leg_seq, b.pushed_leg_dep_utc,
           b.pushed_dep_country, b.pushed_arr_country, b.connecting_to_country
    FROM itin_base b
    JOIN itin_ends e ON e.latest_key = b.latest_key
    LEFT JOIN itin_carriers c ON c.latest_key = b.latest_key
),
trip AS (
    SELECT i.*,
           CASE
               WHEN i.leg_count = 1 THEN 'one_way'
               WHEN i.stops = 0 AND i.final_airport <> i.origin_airport THEN 'one_way'
               WHEN i.final_airport = i.origin_airport AND i.stops <= 1 AND i.surface_gaps = 0 THEN 'return'
               WHEN i.stops = 1 AND i.final_country = i.origin_country THEN 'open_jaw'
               ELSE 'multi_city'
           END AS trip_type
    FROM itin i
),
touched_points AS (
    SELECT latest_key, airport, country
    FROM (
        SELECT latest_key, dep_airport AS airport, dep_country AS country FROM air
        UNION ALL
        SELECT latest_key, arr_airport, arr_country FROM air
    ) t
    WHERE airport IS NOT NULL AND country IS NOT NULL
),
-- One grouping, plain array_agg, then array_distinct: array_agg(DISTINCT) runs group by group, and
-- a DISTINCT subquery per column, joined, took three times as long (5.3 s against 1.7-2.0 s at a
-- million PNRs).
touched AS (
    SELECT latest_key,
           array_sort(array_distinct(array_agg(airport))) AS airports_touched,
           array_sort(array_distinct(array_agg(country))) AS countries_touched
    FROM touched_points
    GROUP BY latest_key
),
connection_points AS (
    SELECT latest_key, array_sort(array_agg(DISTINCT arr_airport)) AS connection_airports
    FROM stops
    WHERE is_connection
    GROUP BY latest_key
),
-- The travellers of the latest versions. trav_key numbers them, one per (traveller_id, latest_key)
-- (ingest gives the travellers of one PNR version distinct ids, and loads a PNR once per push):
-- from here on the traveller-level joins and groups use that number instead of text and a number.
-- It is not the traveller's identity: one traveller of a PNR pushed for two flights has two. So
-- `api_claims` still counts traveller_ids. No output holds it. The numbering is a window over all
-- the rows, which DataFusion computes as one stream on one thread; the name and the age are
-- computed under it, where the join's streams run side by side (above it, at a million PNRs, the
-- CTE took 1.2-2.4 s, against 1.0-1.2 s).
trav AS (
    SELECT x.*, ROW_NUMBER() OVER () AS trav_key
    FROM (
        SELECT t.traveller_id, t.pnr_id, t.push_id, t.surname, t.given_name, t.traveller_type, t.traveller_ref,
               t.infant_of, t.doc_type, t.doc_number, t.doc_issuer, t.nationality, t.date_of_birth, t.gender,
               t.doc_expiry, t.residence_country, t.frequent_flyer_airline, t.frequent_flyer_number,
               t.visa_type, t.source_offset AS traveller_offset, v.latest_key,
               norm_name(t.surname) AS surname_norm,
               CASE
                   WHEN t.date_of_birth IS NOT NULL AND v.flight_dep_date IS NOT NULL THEN
                       CAST(date_part('year', v.flight_dep_date) - date_part('year', t.date_of_birth)
                            - CASE WHEN date_part('month', v.flight_dep_date) * 100 + date_part('day', v.flight_dep_date)
                                        < date_part('month', t.date_of_birth) * 100 + date_part('day', t.date_of_birth)
                                   THEN 1 ELSE 0 END AS BIGINT)
                   ELSE t.age
               END AS age_at_travel
        FROM traveller t
        JOIN latest v ON v.pnr_id = t.pnr_id AND v.push_id = t.push_id
    ) x
),
trav_age AS (
    SELECT t.*,
           COALESCE(t.age_at_travel < 18, t.traveller_type IN ('child', 'infant')) AS is_minor,
           COALESCE(t.age_at_travel >= 18, t.traveller_type = 'adult') AS is_adult
    FROM trav t
),
-- Each surname of each PNR version once, and whether an adult bears it: one grouping for both
-- `party_surnames` and `adult_surnames` (two DISTINCTs over the travellers took 1.7 s at a
-- million PNRs).
surnames AS (
    SELECT latest_key, surname_norm, bool_or(is_adult) AS adult
    FROM trav_age
    WHERE surname_norm IS NOT NULL
    GROUP BY latest_key, surname_norm
),
party_surnames AS (
    SELECT latest_key, COUNT(*) AS distinct_surnames
    FROM surnames
    GROUP BY latest_key
),
party AS (
    SELECT t.latest_key,
           COUNT(*) AS travellers_in_pnr,
           COALESCE(MIN(ps.distinct_surnames), 0) AS distinct_surnames,
           SUM(CASE WHEN t.is_adult THEN 1 ELSE 0 END) AS adults_in_pnr,
           SUM(CASE WHEN t.is_minor THEN 1 ELSE 0 END) AS minors_in_pnr
    FROM trav_age t
    LEFT JOIN party_surnames ps ON ps.latest_key = t.latest_key
    GROUP BY t.latest_key
),
adult_surnames AS (
    SELECT latest_key, surname_norm FROM surnames WHERE adult AND surname_norm <> ''
),
-- Minors of each PNR with no adult of their surname in it.
unrelated_minors AS (
    SELECT t.latest_key, COUNT(*) AS minors
    FROM trav_age t
    LEFT JOIN adult_surnames s ON s.latest_key = t.latest_key AND s.surname_norm = t.surname_norm
    WHERE t.is_minor AND s.surname_norm IS NULL
    GROUP BY t.latest_key
),
-- The current payments of the latest versions with their version's key: the payments are joined
-- on the two text ids once here, and on the number in the three uses below.
latest_payment AS (
    SELECT p.pnr_id, v.latest_key, p.traveller_id, p.is_cash, p.fop_type, p.card_key, p.amount, p.payer_name
    FROM payment p
    JOIN latest v ON v.pnr_id = p.pnr_id AND v.push_id = p.push_id
    WHERE NOT p.previous
),
trav_payment AS (
    SELECT t.trav_key, p.is_cash, p.fop_type, p.card_key, p.amount
    FROM trav t
    JOIN latest_payment p ON p.latest_key = t.latest_key
                         AND (p.traveller_id IS NULL OR p.traveller_id = t.traveller_id)
),
-- The forms of payment in the same grouping as the sums (plain array_agg, then array_distinct, as in
-- `touched`): as a DISTINCT subquery of their own, grouped and joined back to the sums, the three
-- took 3.2-3.8 s at a million PNRs, against 1.2-1.9 s for this one.
pay AS (
    SELECT trav_key,
           bool_or(is_cash) AS paid_cash,
           bool_or(fop_type = 'CC') AS paid_card,
           bool_or(fop_type IS NOT NULL AND fop_type NOT IN ('CA', 'CC')) AS paid_other,
           MIN(card_key) AS card_key,
           SUM(amount) AS amount_paid,
           array_sort(array_distinct(array_agg(fop_type) FILTER (WHERE fop_type IS NOT NULL))) AS fop_types
    FROM trav_payment
    GROUP BY trav_key
),
-- A sponsor (payer name) is "the traveller" when its normalised name contains the surname of a
-- traveller in the same PNR.
sponsor AS (
    SELECT p.latest_key,
           bool_or(NOT matches) AS third_party_payer
    FROM (
        SELECT t.latest_key, p.payer_name,
               bool_or(t.surname_norm <> '' AND strpos(norm_name(p.payer_name), t.surname_norm) > 0) AS matches
        FROM latest_payment p
        JOIN trav t ON t.latest_key = p.latest_key
        WHERE p.payer_name IS NOT NULL
        GROUP BY t.latest_key, p.payer_name
    ) p
    GROUP BY p.latest_key
),
tickets AS (
    SELECT t.trav_key, COUNT(k.ticket_number) AS ticket_count, MIN(k.issued_at_utc) AS first_issued_at_utc,
           MAX(k.total_fare) AS total_fare, bool_or(k.refundable = false) AS non_refundable
    FROM trav t
    JOIN ticket k ON k.traveller_id = t.traveller_id AND k.push_id = t.push_id
    GROUP BY t.trav_key
),
-- The contacts of the latest versions. No DISTINCT: every use below is blind to repeated rows
-- (COUNT(DISTINCT), bool_or, MIN and MAX), and removing them took a hash table over five columns,
-- three of them text, that grew with the night.
latest_contact AS (
    SELECT c.pnr_id, v.latest_key, c.traveller_id, c.kind, c.value
    FROM contact c
    JOIN latest v ON v.pnr_id = c.pnr_id AND v.push_id = c.push_id
),
-- How many distinct PNRs (latest versions, all flights of the run) carry the same value.
phone_share AS (
    SELECT value, COUNT(DISTINCT pnr_id) AS pnrs FROM latest_contact
    WHERE kind IN ('phone', 'mobile', 'home', 'business') GROUP BY value
),
email_share AS (
    SELECT value, COUNT(DISTINCT pnr_id) AS pnrs FROM latest_contact WHERE kind = 'email' GROUP BY value
),
card_share AS (
    SELECT card_key, COUNT(DISTINCT pnr_id) AS pnrs
    FROM latest_payment
    WHERE card_key IS NOT NULL
    GROUP BY card_key
),
-- contacts and bags group by latest_key as well as trav_key (a traveller belongs to one PNR
-- version, so the groups are the same), and join only on tables that carry latest_key: over a
-- landing set they are then computed in slices of latest_key with every table restricted to the
-- slice. Slices of trav_key read the contacts, or the check-ins, whole in each slice, and at 5
-- million PNRs a hash join on them did not fit under --memory-limit 2.
contacts AS (
    SELECT t.trav_key, t.latest_key,
           bool_or(c.kind = 'email') AS has_email,
           bool_or(c.kind IN ('phone', 'mobile', 'home', 'business')) AS has_phone,
           MIN(CASE WHEN c.kind = 'email' THEN split_part(c.value, '@', 2) END) AS email_domain,
           MAX(ps.pnrs) AS shared_phone_pnrs,
           MAX(es.pnrs) AS shared_email_pnrs
    FROM trav t
    JOIN latest_contact c ON c.latest_key = t.latest_key
                         AND (c.traveller_id IS NULL OR c.traveller_id = t.traveller_id)
    LEFT JOIN phone_share ps ON ps.value = c.value AND c.kind IN ('phone', 'mobile', 'home', 'business')
    LEFT JOIN email_share es ON es.value = c.value AND c.kind = 'email'
    GROUP BY t.trav_key, t.latest_key
),
-- The check-ins of the latest versions, with the version's key. Ingest gives a check-in the
-- traveller_id of a traveller of its own PNR (or none), so bags' join on latest_key as well as the
-- traveller loses no check-in.
latest_checkin AS (
    SELECT v.latest_key, k.traveller_id, k.leg_seq, k.checked_in_at_utc, k.bag_count, k.bag_weight,
           k.bag_weight_unit, k.tag_destinations, k.pool_ref, k.seat
    FROM checkin k
    JOIN latest v ON v.pnr_id = k.pnr_id AND v.push_id = k.push_id
),
bags AS (
    SELECT t.trav_key, t.latest_key,
           MIN(k.checked_in_at_utc) AS checked_in_at_utc,
           SUM(k.bag_count) AS bag_count,
           SUM(CASE WHEN k.bag_weight_unit = 'lb' THEN k.bag_weight * 0.45359237 ELSE k.bag_weight END) AS bag_weight_kg,
           MIN(k.tag_destinations) AS bag_tag_destinations,
           MIN(k.pool_ref) AS pool_ref,
           MIN(k.seat) AS seat
    FROM trav t
    JOIN trip i ON i.latest_key = t.latest_key
    JOIN latest_checkin k ON k.latest_key = t.latest_key AND k.traveller_id = t.traveller_id
                         AND k.leg_seq = i.pushed_leg_seq
    GROUP BY t.trav_key, t.latest_key
),
-- Bags checked by anyone of the PNR on the pushed flight (families pool bags on one traveller).
pnr_bags AS (
    SELECT k.latest_key, SUM(k.bag_count) AS bag_count
    FROM latest_checkin k
    JOIN trip i ON i.latest_key = k.latest_key AND k.leg_seq = i.pushed_leg_seq
    GROUP BY k.latest_key
),
specials AS (
    SELECT t.trav_key, bool_or(s.code = 'UMNR') AS has_umnr
    FROM trav t
    JOIN ssr s ON s.pnr_id = t.pnr_id AND s.push_id = t.push_id
              AND (s.traveller_id IS NULL OR s.traveller_id = t.traveller_id)
    GROUP BY t.trav_key
),
-- API (PAXLST) passengers, each person once: from the latest list that names them (the first
-- entry if that list names them twice).
api_pax AS (
    SELECT a.api_traveller_id, a.flight_carrier, ltrim(a.flight_number, '0') AS flight_no, a.dep_date,
           upper(a.record_locator) AS record_locator, norm_name(a.surname) AS surname_norm,
           norm_name(a.given_name) AS given_norm, a.date_of_birth, upper(a.doc_number) AS doc_number,
           a.debark_airport,
           p.push_rank * 1099511627776 - a.source_offset AS list_key
    FROM api_traveller a
    JOIN pushes p ON p.push_id = a.push_id
    WHERE a.role IN ('passenger', 'in_transit_passenger')
),
api_newest AS (
    SELECT api_traveller_id, MAX(list_key) AS list_key FROM api_pax GROUP BY api_traveller_id
),
-- api_key numbers the API persons, one per api_traveller_id, in no particular order: the link
-- candidates below carry, join and group by that number instead of 17 bytes of text (as latest_key
-- does for a PNR version; at a million PNRs api_claims, api_ambiguous and api_link took 0.7-1.2 s
-- together in most runs, against 1.2-1.6 s). No output holds it. The candidates keep the traveller's text id:
-- `api_claims` counts traveller_ids, and one traveller can claim a person under two trav_keys (its
-- PNR pushed for flight 0123 and for flight 123).
-- The newest list's two columns come first, so that the join builds its hash table on them, not on
-- api_pax's eleven: a join builds on its first side when the two sides have as many rows and their
-- sizes are not known (Parquet work files over a landing set). api_best and api_claims put their
-- per-key minimum first for the same reason.
api_latest AS (
    SELECT a.*, ROW_NUMBER() OVER () AS api_key
    FROM api_newest n
    JOIN api_pax a ON a.api_traveller_id = n.api_traveller_id AND a.list_key = n.list_key
),
-- The flights the API lists cover (pnr_joined's api_list_received), numbered: flight_key, one per
-- carrier, flight number and date, in their order (so that the SQL run as written, with this CTE
-- computed once for each use, numbers them alike); no output holds it. The link candidates below
-- are joined on it instead of the three columns, and over a landing set they are then computed in
-- slices of it: at 5 million PNRs they are the view's largest join (32 million candidates), which
-- held every API person of the night in one hash table. A traveller whose flight sent no API list
-- has no candidate, and is left out of pnr_pax.
api_flights AS (
    SELECT flight_carrier, flight_no, dep_date,
           ROW_NUMBER() OVER (ORDER BY flight_carrier, flight_no, dep_date) AS flight_key
    FROM (SELECT DISTINCT flight_carrier, flight_no, dep_date FROM api_latest) l
),
-- The API persons of each flight, with what the candidates match them on.
api_match AS (
    SELECT f.flight_key, a.api_key, a.record_locator, a.surname_norm, a.given_norm, a.date_of_birth, a.doc_number
    FROM api_flights f
    JOIN api_latest a ON a.flight_carrier = f.flight_carrier AND a.flight_no = f.flight_no AND a.dep_date = f.dep_date
),
pnr_pax AS (
    SELECT t.traveller_id, t.trav_key, f.flight_key, upper(v.record_locator) AS record_locator, t.surname_norm,
           norm_name(t.given_name) AS given_norm, t.date_of_birth, upper(t.doc_number) AS doc_number
    FROM api_flights f
    JOIN latest v ON v.flight_carrier = f.flight_carrier AND ltrim(v.flight_number, '0') = f.flight_no
                 AND v.flight_dep_date = f.dep_date
    JOIN trav t ON t.latest_key = v.latest_key
),
-- Link candidates on the same flight and date, ranked: 1 locator, surname, given name and date of
-- birth; 2 locator, surname and given name; 3 locator and surname; 4 surname, given name and date
-- of birth; 5 document number.
api_candidates AS (
    SELECT p.traveller_id, p.trav_key, a.api_key,
           CASE
               WHEN a.given_norm = p.given_norm AND a.date_of_birth = p.date_of_birth THEN 1
               WHEN a.given_norm = p.given_norm THEN 2
               ELSE 3
           END AS method
    FROM pnr_pax p
    JOIN api_match a ON a.flight_key = p.flight_key AND a.record_locator = p.record_locator
                    AND a.surname_norm = p.surname_norm
    UNION ALL
    SELECT p.traveller_id, p.trav_key, a.api_key, 4 AS method
    FROM pnr_pax p
    JOIN api_match a ON a.flight_key = p.flight_key AND a.surname_norm = p.surname_norm
                    AND a.given_norm = p.given_norm AND a.date_of_birth = p.date_of_birth
    UNION ALL
    SELECT p.traveller_id, p.trav_key, a.api_key, 5 AS method
    FROM pnr_pax p
    JOIN api_match a ON a.flight_key = p.flight_key AND a.doc_number = p.doc_number
),
api_best AS (
    SELECT c.traveller_id, c.trav_key, c.api_key, c.method
    FROM (SELECT trav_key, MIN(method) AS method FROM api_candidates GROUP BY trav_key) b
    JOIN api_candidates c ON c.trav_key = b.trav_key AND c.method = b.method
),
-- An API person goes to the traveller that claims it at the best rank: a family member who did
-- not fly (matched by locator and surname only) does not take the API row of one who did.
api_claims AS (
    SELECT c.traveller_id, c.trav_key, c.api_key, c.method
    FROM (SELECT api_key, MIN(method) AS method FROM api_best GROUP BY api_key) k
    JOIN api_best c ON c.api_key = k.api_key AND c.method = k.method
),
-- A link is one-to-one: a traveller with two equal candidates (two people of one name and no date
-- of birth), or an API person claimed equally by two travellers, stays unlinked.
api_ambiguous AS (
    SELECT trav_key FROM api_best GROUP BY trav_key
    HAVING COUNT(DISTINCT api_key) > 1
),
api_link AS (
    SELECT c.trav_key, MIN(c.api_key) AS api_key, MIN(c.method) AS method
    FROM api_claims c
    LEFT JOIN api_ambiguous x ON x.trav_key = c.trav_key
    WHERE x.trav_key IS NULL
      AND c.api_key IN (
        SELECT api_key FROM api_claims GROUP BY api_key HAVING COUNT(DISTINCT traveller_id) = 1
      )
    GROUP BY c.trav_key
),
changes AS (
    SELECT v.latest_key,
           COUNT(*) AS history_changes,
           SUM(CASE WHEN h.action = 'cancelled' THEN 1 ELSE 0 END) AS history_cancellations,
           SUM(CASE WHEN h.item_kind = 'TVL' THEN 1 ELSE 0 END) AS itinerary_changes,
           SUM(CASE WHEN h.item_kind = 'TIF' THEN 1 ELSE 0 END) AS name_changes
    FROM history h
    JOIN latest v ON v.pnr_id = h.pnr_id AND v.push_id = h.push_id
    GROUP BY v.latest_key
),
-- What is known per PNR version besides the version's own columns, joined here on latest_key from a
-- narrow list of the versions: each join copies every column gathered before it, and the version's
-- three dozen columns now go through one join (in pnr_facts) instead of nine.
-- For the same reason the narrowest facts are joined first and `trip`'s two dozen columns last:
-- joined first, they were copied by the eight joins after it (at a million PNRs the CTE took
-- 0.79-0.96 s, against 1.37-1.92 s).
pnr_joined AS (
    SELECT lk.latest_key,
           i.leg_count, i.origin_airport, i.origin_country, i.final_airport, i.final_country, i.connections,
           i.stops, i.surface_gaps, i.max_connection_hours, i.min_connection_hours, i.max_gap_hours,
           i.longest_gap_airport, i.longest_gap_country, i.journey_km, i.max_leg_km, i.carrier_count,
           i.pushed_leg_dep_utc, i.pushed_dep_country, i.pushed_arr_country, i.connecting_to_country, i.trip_type,
           g.airports_touched, g.countries_touched,
           c.connection_airports,
           pa.travellers_in_pnr, pa.distinct_surnames, pa.adults_in_pnr,
           um.minors AS unrelated_minors,
           so.third_party_payer,
           pb.bag_count AS pnr_bag_count,
           h.history_changes, h.history_cancellations, h.itinerary_changes, h.name_changes,
           al2.flight_carrier IS NOT NULL AS api_list_received
    FROM latest lk
    LEFT JOIN api_flights al2 ON al2.flight_carrier = lk.flight_carrier AND al2.flight_no = ltrim(lk.flight_number, '0')
                           AND al2.dep_date = lk.flight_dep_date
    LEFT JOIN unrelated_minors um ON um.latest_key = lk.latest_key
    LEFT JOIN sponsor so ON so.latest_key = lk.latest_key
    LEFT JOIN pnr_bags pb ON pb.latest_key = lk.latest_key
    LEFT JOIN connection_points c ON c.latest_key = lk.latest_key
    LEFT JOIN party pa ON pa.latest_key = lk.latest_key
    LEFT JOIN changes h ON h.latest_key = lk.latest_key
    LEFT JOIN touched g ON g.latest_key = lk.latest_key
    LEFT JOIN trip i ON i.latest_key = lk.latest_key
),
-- Everything known per PNR version, joined once per PNR (100,000 rows at 100,000 PNRs) rather than
-- once per traveller: each join of the final SELECT copies every column gathered before it.
pnr_facts AS (
    SELECT v.*, j.* EXCLUDE (latest_key)
    FROM pnr_joined j
    JOIN latest v ON v.latest_key = j.latest_key
),
-- Everything known per traveller besides the traveller's own columns, joined here on trav_key
-- (one row per traveller of `trav`): each join of the final SELECT copies every column gathered
-- before it, and the traveller's own two dozen columns now go through one join instead of eight.
-- Each column is named <alias>_<column>, after the alias of the CTE it comes from (p for pay, ...).
-- It carries latest_key too, for the final SELECT's join (below).
trav_facts AS (
    SELECT tk.trav_key, tk.latest_key,
           sp.has_umnr AS sp_has_umnr,
           k.first_issued_at_utc AS k_first_issued_at_utc,
           k.ticket_count AS k_ticket_count,
           k.total_fare AS k_total_fare,
           k.non_refundable AS k_non_refundable,
           p.paid_cash AS p_paid_cash,
           p.paid_card AS p_paid_card,
           p.paid_other AS p_paid_other,
           p.fop_types AS p_fop_types,
           p.card_key AS p_card_key,
           p.amount_paid AS p_amount_paid,
           ct.has_email AS ct_has_email,
           ct.has_phone AS ct_has_phone,
           ct.email_domain AS ct_email_domain,
           ct.shared_phone_pnrs AS ct_shared_phone_pnrs,
           ct.shared_email_pnrs AS ct_shared_email_pnrs,
           cs.pnrs AS cs_pnrs,
           b.checked_in_at_utc AS b_checked_in_at_utc,
           b.trav_key AS b_trav_key,
           b.bag_count AS b_bag_count,
           b.bag_weight_kg AS b_bag_weight_kg,
           b.bag_tag_destinations AS b_bag_tag_destinations,
           b.pool_ref AS b_pool_ref,
           b.seat AS b_seat,
           ap.api_traveller_id AS ap_api_traveller_id,
           al.method AS al_method,
           ap.doc_number AS ap_doc_number,
           ap.date_of_birth AS ap_date_of_birth,
           ap.debark_airport AS ap_debark_airport,
           ap.surname_norm AS ap_surname_norm,
           ap.given_norm AS ap_given_norm
    FROM trav tk
    LEFT JOIN pay p ON p.trav_key = tk.trav_key
    LEFT JOIN tickets k ON k.trav_key = tk.trav_key
    LEFT JOIN contacts ct ON ct.trav_key = tk.trav_key
    LEFT JOIN card_share cs ON cs.card_key = p.card_key
    LEFT JOIN bags b ON b.trav_key = tk.trav_key
    LEFT JOIN specials sp ON sp.trav_key = tk.trav_key
    LEFT JOIN api_link al ON al.trav_key = tk.trav_key
    LEFT JOIN api_latest ap ON ap.api_key = al.api_key
)
SELECT
    concat(t.traveller_id, '|', v.flight_carrier, v.flight_number, '|', CAST(v.flight_dep_date AS VARCHAR)) AS journey_id, -- Key: traveller_id|flight|flight_dep_date. One row per traveller per pushed flight.
    t.traveller_id AS traveller_id, -- Stable traveller id (same in every push and every run).
    t.pnr_id AS pnr_id, -- Stable PNR id.
    t.push_id AS push_id, -- The push the latest version of the PNR came in.
    v.carrier AS pnr_carrier, -- Company of the record locator.
    v.record_locator AS record_locator, -- Record locator.
    v.source_file AS source_file, -- Input file of the latest version of the PNR.
    v.source_offset AS source_offset, -- Byte offset of the PNR (SRC) in source_file.
    v.versions_seen AS versions_seen, -- Number of pushes of this PNR for this flight in the input.
    concat(v.flight_carrier, v.flight_number) AS flight, -- Pushed flight, carrier and number (e.g. LH0400).
    v.flight_dep_date AS flight_dep_date, -- Local departure date of the pushed flight.
    v.flight_dep_local AS flight_dep_local, -- Scheduled departure of the pushed flight, local time.
    COALESCE(v.pushed_leg_dep_utc, v.push_dep_utc) AS flight_dep_utc, -- Scheduled departure of the pushed flight, UTC.
    v.flight_dep_airport AS flight_dep_airport, -- Departure airport of the pushed flight.
    v.flight_arr_airport AS flight_arr_airport, -- Arrival airport of the pushed flight.
    v.pushed_dep_country AS flight_dep_country, -- Country of the pushed flight's departure airport.
    v.pushed_arr_country AS flight_arr_country, -- Country of the pushed flight's arrival airport.
    t.surname AS surname, -- Surname from the PNR.
    t.given_name AS given_name, -- Given name(s), title removed.
    t.surname_norm AS surname_norm, -- Surname normalised with norm_name(): upper-case letters only, accents removed.
    t.traveller_type AS traveller_type, -- adult, child, infant or unknown.
    t.date_of_birth AS date_of_birth, -- Date of birth from SSR DOCS.
    t.age_at_travel AS age_at_travel, -- Age in whole years on the flight's departure date (from the date of birth, else the FAR age).
    t.is_minor AS is_minor, -- Under 18 at travel (or typed child/infant when the age is unknown).
    t.is_minor AND s.surname_norm IS NULL AS minor_without_same_surname_adult, -- A minor with no adult of the same surname in the PNR.
    t.is_minor AND COALESCE(v.adults_in_pnr, 0) = 0 AS minor_alone, -- A minor with no adult at all in the PNR.
    COALESCE(v.unrelated_minors, 0) AS pnr_minors_without_same_surname_adult, -- Minors of the PNR with no adult of their surname in it; the same on every traveller of the PNR.
    COALESCE(v.adults_in_pnr, 0) AS adults_in_pnr, -- Adults (18 or older, or typed adult when the age is unknown) in the PNR.
    COALESCE(f.sp_has_umnr, false) AS has_umnr, -- An SSR UMNR (unaccompanied minor) is booked.
    t.nationality AS nationality, -- [sensitive] Nationality from DOCS.
    t.gender AS gender, -- [sensitive] Gender from DOCS.
    t.doc_type AS doc_type, -- Document type from DOCS (P passport, I identity card, ...).
    t.doc_number AS doc_number, -- Document number from DOCS.
    t.doc_issuer AS doc_issuer, -- Issuing state of the document.
    t.doc_expiry AS doc_expiry, -- Document expiry date.
    t.doc_number IS NOT NULL AS has_document, -- DOCS with a document number was sent.
    CAST(t.doc_expiry AS INT) - CAST(v.flight_dep_date AS INT) AS days_to_doc_expiry, -- Days from the flight's departure date to the document's expiry (negative: expired).
    t.doc_issuer <> t.nationality AS doc_issuer_differs_from_nationality, -- The document was issued by a state other than the holder's nationality.
    t.residence_country AS residence_country, -- Country of residence from DOCA R.
    t.visa_type IS NOT NULL AS has_visa_doc, -- A DOCO (visa or other document) was sent.
    v.trip_type AS trip_type, -- one_way, return, open_jaw or multi_city, from the flown air segments.
    v.origin_airport AS origin_airport, -- First departure airport of the itinerary.
    v.origin_country AS origin_country, -- Country of origin_airport.
    CASE WHEN v.trip_type IN ('return', 'open_jaw') THEN v.longest_gap_airport ELSE v.final_airport END AS destination_airport, -- Turnaround airport of a return or open-jaw trip, else the last arrival.
    CASE WHEN v.trip_type IN ('return', 'open_jaw') THEN v.longest_gap_country ELSE v.final_country END AS destination_country, -- Country of destination_airport.
    v.final_airport AS final_airport, -- Last arrival airport of the itinerary.
    v.final_country AS final_country, -- Country of final_airport.
    v.leg_count AS leg_count, -- Number of flown air segments.
    v.connections AS connections, -- Connections: the next segment leaves the same airport within 24 h.
    v.stops AS stops, -- Stops: a gap of 24 h or more, or a change of airport between segments.
    v.surface_gaps AS surface_gaps, -- Gaps where the next segment leaves from another airport (surface sector).
    v.max_connection_hours AS max_connection_hours, -- Longest connection dwell, hours.
    v.min_connection_hours AS min_connection_hours, -- Shortest connection dwell, hours.
    v.connection_airports AS connection_airports, -- Airports connected through, sorted.
    CASE WHEN v.trip_type IN ('return', 'open_jaw') THEN v.max_gap_hours END AS stay_hours, -- Hours at the destination of a return or open-jaw trip (NULL otherwise).
    CASE WHEN v.trip_type IN ('return', 'open_jaw') THEN v.max_gap_hours / 24.0 END AS stay_days, -- stay_hours / 24.
    v.airports_touched AS airports_touched, -- Every airport of the flown itinerary, sorted.
    v.countries_touched AS countries_touched, -- Every country of the flown itinerary, sorted.
    array_length(v.countries_touched) AS countries_count, -- Number of countries touched.
    v.journey_km AS journey_km, -- Great-circle kilometres flown over all segments.
    v.max_leg_km AS max_leg_km, -- Longest segment, great-circle kilometres.
    v.carrier_count AS carrier_count, -- Distinct operating carriers in the itinerary.
    (to_unixtime(COALESCE(v.pushed_leg_dep_utc, v.push_dep_utc)) - to_unixtime(v.created_at_utc)) / 3600.0 AS hours_booked_before_departure, -- Hours from PNR creation to the pushed flight's departure.
    (to_unixtime(COALESCE(v.pushed_leg_dep_utc, v.push_dep_utc)) - to_unixtime(COALESCE(f.k_first_issued_at_utc, v.ticketed_at_utc))) / 3600.0 AS hours_ticketed_before_departure, -- Hours from ticket issue (first ticket, else PNR ticketing time) to the pushed flight's departure.
    COALESCE(f.k_ticket_count, 0) AS ticket_count, -- Tickets of the traveller in the PNR.
    f.k_total_fare AS total_fare, -- Highest ticket total fare (in its own currency).
    f.k_non_refundable AS non_refundable, -- A ticket is marked non-refundable.
    COALESCE(f.p_paid_cash, false) AS paid_cash, -- A current form of payment is cash.
    COALESCE(f.p_paid_card, false) AS paid_card, -- A current form of payment is a card.
    COALESCE(f.p_paid_other, false) AS paid_other, -- A current form of payment is neither cash nor card (cheque, miscellaneous, government, ...).
    f.p_fop_types AS fop_types, -- Forms of payment, sorted (CA, CC, MS, ...).
    f.p_card_key AS card_key, -- Card used (vendor:last4:expiry), to link payments across PNRs.
    f.p_amount_paid AS amount_paid, -- Sum of the payment amounts.
    NOT COALESCE(v.third_party_payer, false) AS payer_is_traveller, -- False when a payer (sponsor) name matches no traveller surname in the PNR.
    v.agency_iata AS agency_iata, -- Travel agency IATA number; NULL for a direct booking.
    v.agent_type AS agent_type, -- Booking originator type (A airline agent, T travel agent, ...).
    v.agency_iata IS NOT NULL AS booked_by_agency, -- Booked through a travel agency.
    v.booking_country AS booking_country, -- Country of booking.
    v.city_of_sale AS city_of_sale, -- City of sale of the booking office.
    v.city_of_sale = v.origin_airport OR v.booking_location = v.origin_airport AS sold_at_origin, -- Sold at the origin airport or city code.
    array_has(v.countries_touched, v.booking_country) AS booking_country_on_route, -- The booking country is on the itinerary.
    v.party_size AS party_size, -- Travellers in the PNR as sent.
    COALESCE(v.travellers_in_pnr, 1) AS travellers_in_pnr, -- Travellers in the latest version of the PNR.
    COALESCE(v.distinct_surnames, 1) AS distinct_surnames, -- Distinct normalised surnames in the PNR.
    v.is_group AS is_group, -- The PNR is a group booking (group name present).
    COALESCE(v.split_count, 0) > 0 AS is_split_pnr, -- Travellers were split from or to this PNR.
    COALESCE(f.ct_has_email, false) AS has_email, -- An e-mail of the PNR or the traveller is known.
    COALESCE(f.ct_has_phone, false) AS has_phone, -- A personal phone of the PNR or the traveller is known (agency phones excluded).
    f.ct_email_domain AS email_domain, -- Domain of the e-mail (lower case).
    COALESCE(f.ct_shared_phone_pnrs, 0) AS shared_phone_pnrs, -- Most PNRs (this one included) sharing one of its phones in the run; 0 without phone.
    COALESCE(f.ct_shared_email_pnrs, 0) AS shared_email_pnrs, -- Most PNRs (this one included) sharing one of its e-mails in the run; 0 without e-mail.
    COALESCE(f.cs_pnrs, 0) AS shared_card_pnrs, -- PNRs (this one included) paid with the same card in the run; 0 without card.
    f.b_checked_in_at_utc IS NOT NULL OR f.b_trav_key IS NOT NULL AS checked_in, -- A check-in record exists for the pushed flight.
    (to_unixtime(COALESCE(v.pushed_leg_dep_utc, v.push_dep_utc)) - to_unixtime(f.b_checked_in_at_utc)) / 3600.0 AS hours_checked_in_before_departure, -- Hours from check-in to departure.
    f.b_bag_count AS bag_count, -- Checked bags on the pushed flight (NULL: no check-in data).
    v.pnr_bag_count AS pnr_bag_count, -- Checked bags of all travellers of the PNR on the pushed flight (NULL: no check-in data).
    f.b_bag_weight_kg AS bag_weight_kg, -- Checked bag weight in kg (pounds converted).
    f.b_bag_tag_destinations AS bag_tag_destinations, -- Bag tag destinations, ';'-joined.
    f.b_bag_tag_destinations IS NOT NULL
        AND strpos(concat(';', f.b_bag_tag_destinations, ';'), concat(';', v.final_airport, ';')) = 0
        AND strpos(concat(';', f.b_bag_tag_destinations, ';'), concat(';', v.longest_gap_airport, ';')) = 0 AS bags_short_checked, -- Bags tagged to neither the destination nor the final airport.
    f.b_pool_ref AS bag_pool_ref, -- Baggage pool reference (pooled with other travellers).
    f.b_seat AS seat, -- Seat on the pushed flight.
    t.frequent_flyer_number IS NOT NULL AS is_frequent_flyer, -- A frequent-flyer number is recorded.
    t.frequent_flyer_airline AS frequent_flyer_airline, -- Frequent-flyer programme airline.
    COALESCE(v.history_changes, 0) AS history_changes, -- History entries in the latest version.
    COALESCE(v.history_cancellations, 0) AS history_cancellations, -- History entries that cancelled something.
    COALESCE(v.itinerary_changes, 0) AS itinerary_changes, -- History entries that changed a flight segment.
    COALESCE(v.name_changes, 0) AS name_changes, -- History entries that changed a name.
    v.api_list_received AS api_list_received, -- A PAXLST passenger list was received for the pushed flight.
    f.ap_api_traveller_id IS NOT NULL AS api_linked, -- The traveller is linked to one API passenger of the flight.
    CASE f.al_method WHEN 1 THEN 'locator_name_dob' WHEN 2 THEN 'locator_name' WHEN 3 THEN 'locator_surname'
                   WHEN 4 THEN 'name_dob' WHEN 5 THEN 'document' END AS api_link_method, -- How the API link was made (best unique match).
    f.ap_api_traveller_id AS api_traveller_id, -- The linked API passenger.
    f.ap_doc_number AS api_doc_number, -- Document number in API.
    f.ap_date_of_birth AS api_date_of_birth, -- Date of birth in API.
    f.ap_debark_airport AS api_debark_airport, -- Port of debarkation in API (LOC 179).
    COALESCE(f.ap_doc_number <> upper(t.doc_number), false) AS api_doc_number_differs, -- API and PNR both give a document number, and they differ.
    COALESCE(f.ap_date_of_birth <> t.date_of_birth, false) AS api_dob_differs, -- API and PNR both give a date of birth, and they differ.
    COALESCE(f.ap_surname_norm <> t.surname_norm OR f.ap_given_norm <> norm_name(t.given_name), false) AS api_name_differs, -- The linked API passenger's surname or given name differs from the PNR's.
    v.api_list_received AND f.ap_api_traveller_id IS NULL AS api_missing, -- The flight's API list has no passenger that links to this traveller (no-show, or not the person booked).
    v.connecting_to_country AS connecting_to_country, -- Country the traveller flies on to within 24 h of the pushed flight's arrival (NULL: no connection).
    COALESCE(f.ap_debark_airport = v.flight_arr_airport AND v.connecting_to_country <> v.pushed_arr_country, false) AS api_debarks_short -- API says the traveller leaves at the pushed flight's arrival, though the PNR connects on to another country.
FROM trav_age t
LEFT JOIN adult_surnames s ON s.latest_key = t.latest_key AND s.surname_norm = t.surname_norm
-- On latest_key as well as trav_key (the same PNR version for the same traveller): with every join
-- equating latest_key, a run over a landing set computes this SELECT in slices of PNR versions, so
-- that its joins hold a slice of trav_facts and pnr_facts at a time (src/rules/slices.rs).
JOIN trav_facts f ON f.trav_key = t.trav_key AND f.latest_key = t.latest_key
-- Last, so that the traveller joins above copy none of the PNR's columns.
JOIN pnr_facts v ON v.latest_key = t.latest_key
