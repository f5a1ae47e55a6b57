//! Scores and bands from hits, as `pack.toml` sets out.
//!
//! A score depends on the weights of the traveller's hits and nothing else, so an auditor can
//! always rebuild it from `hits`: weights are combined in rule-id order and the result rounded to
//! two decimals.

use super::pack::{Band, PackManifest, ScoringMethod};

/// The score of a set of hit weights.
pub fn score(manifest: &PackManifest, weights: &[u32]) -> f64 {
    let raw = match manifest.scoring.method {
        ScoringMethod::SumCapped => (weights.iter().map(|&w| f64::from(w)).sum::<f64>()).min(manifest.scoring.cap),
        ScoringMethod::NoisyOr => {
            let miss: f64 = weights.iter().map(|&w| 1.0 - f64::from(w.min(100)) / 100.0).product();
            100.0 * (1.0 - miss)
        }
    };
    // `+ 0.0` turns the -0.0 of an empty float sum into 0.0, which every reader prints as 0.
    (raw * 100.0).round() / 100.0 + 0.0
}

/// The band of a score: the band with the highest `min` at or below it.
pub fn band(bands: &[Band], score: f64) -> Option<&str> {
    bands.iter().filter(|b| score >= b.min).max_by(|a, b| a.min.total_cmp(&b.min)).map(|b| b.name.as_str())
}

/// Whether a score goes on the review list (before the per-flight cap).
pub fn reviewable(manifest: &PackManifest, score: f64) -> bool {
    score >= manifest.review.threshold && score > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::pack::{Review, Scoring};

    fn manifest(method: ScoringMethod) -> PackManifest {
        PackManifest {
            name: "t".into(),
            version: "1".into(),
            description: None,
            scoring: Scoring { method, cap: 100.0 },
            bands: vec![
                Band { name: "high".into(), min: 70.0 },
                Band { name: "medium".into(), min: 40.0 },
                Band { name: "low".into(), min: 1.0 },
                Band { name: "none".into(), min: 0.0 },
            ],
            review: Review { threshold: 50.0, max_per_flight: 10 },
        }
    }

    #[test]
    fn sum_capped_adds_and_caps() {
        let m = manifest(ScoringMethod::SumCapped);
        assert!(score(&m, &[]) == 0.0 && score(&m, &[]).is_sign_positive());
        assert_eq!(score(&m, &[30, 25]), 55.0);
        assert_eq!(score(&m, &[70, 45]), 100.0);
    }

    #[test]
    fn noisy_or_combines_independent_hits() {
        let m = manifest(ScoringMethod::NoisyOr);
        assert_eq!(score(&m, &[50, 50]), 75.0);
        assert_eq!(score(&m, &[30, 25]), 47.5);
        assert_eq!(score(&m, &[100, 10]), 100.0);
        assert_eq!(score(&m, &[10, 10, 10]), 27.1);
    }

    #[test]
    fn bands_and_review_follow_the_thresholds() {
        let m = manifest(ScoringMethod::SumCapped);
        assert_eq!(band(&m.bands, 0.0), Some("none"));
        assert_eq!(band(&m.bands, 39.99), Some("low"));
        assert_eq!(band(&m.bands, 40.0), Some("medium"));
        assert_eq!(band(&m.bands, 100.0), Some("high"));
        assert!(!reviewable(&m, 49.0));
        assert!(reviewable(&m, 50.0));
    }
}
