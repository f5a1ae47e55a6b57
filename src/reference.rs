//! Reference data shipped in the rule pack: airports with their IANA time zones.
//!
//! `rules/reference/airports.csv` is built from the `airportsdata` package by
//! `scripts/build_airports.py`; its version is in `rules/reference/airports.version`.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;

/// Errors reading a CSV data file of the rule pack (reference tables and lists).
#[derive(Debug, thiserror::Error)]
pub enum DataFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A row is malformed.
    #[error("{path}:{line}: {message}")]
    Row {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// One airport.
#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    /// ISO 3166 alpha-2 country.
    pub country: String,
    /// IANA time zone.
    pub tz: Tz,
    /// Latitude in degrees, when known.
    pub lat: Option<f64>,
    /// Longitude in degrees, when known.
    pub lon: Option<f64>,
}

/// Airports by IATA code.
#[derive(Debug, Clone, Default)]
pub struct Airports {
    /// foldhash rather than SipHash: ingest looks an airport up for each local time it converts
    /// to UTC, SipHash was 0.45% of ingest's instructions, and nothing iterates the map.
    by_iata: foldhash::HashMap<String, Airport>,
}

impl Airports {
    /// Reads `airports.csv` (columns iata, icao, name, city, country, tz, lat, lon).
    pub fn load(path: &Path) -> Result<Airports, DataFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataFileError::Io { path: path.into(), source })?;
        Self::parse(&text, path)
    }

    /// Parses the CSV text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Airports, DataFileError> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let row_err = |line: u64, message: String| DataFileError::Row { path: path.into(), line, message };
        let headers = rdr.headers().map_err(|e| row_err(1, e.to_string()))?.clone();
        let col = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| row_err(1, format!("missing column {name:?}")))
        };
        let (iata_i, country_i, tz_i) = (col("iata")?, col("country")?, col("tz")?);
        // Coordinates are optional: ingest needs only the time zone.
        let (lat_i, lon_i) = (col("lat").ok(), col("lon").ok());
        let mut by_iata = foldhash::HashMap::default();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| row_err(e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let iata = rec.get(iata_i).unwrap_or("").trim();
            let tz_name = rec.get(tz_i).unwrap_or("").trim();
            let tz: Tz =
                tz_name.parse().map_err(|_| row_err(line, format!("unknown time zone {tz_name:?} for {iata}")))?;
            let coord = |i: Option<usize>| i.and_then(|i| rec.get(i)).and_then(|v| v.trim().parse::<f64>().ok());
            by_iata.insert(
                iata.to_string(),
                Airport {
                    country: rec.get(country_i).unwrap_or("").trim().to_string(),
                    tz,
                    lat: coord(lat_i),
                    lon: coord(lon_i),
                },
            );
        }
        Ok(Airports { by_iata })
    }

    /// The airport with this IATA code.
    pub fn get(&self, iata: &str) -> Option<&Airport> {
        self.by_iata.get(iata)
    }

    /// Number of airports.
    pub fn len(&self) -> usize {
        self.by_iata.len()
    }

    /// True when no airport is loaded.
    pub fn is_empty(&self) -> bool {
        self.by_iata.is_empty()
    }
}
