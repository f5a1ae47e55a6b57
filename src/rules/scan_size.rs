//! The size of a Parquet table's scan, for choosing which side of a join to build on.
//!
//! DataFusion chooses a hash join's build side by the estimated bytes of each side, and by rows
//! only when either side's bytes are unknown. A Parquet scan knows the size of each of its
//! columns (the exact width of numbers, the uncompressed size of text), but it reports no total
//! for the scan as soon as one of its columns is text. So over a landing set, where the views'
//! work tables are Parquet files, every join chose by rows alone, and built its table on the side
//! with fewer rows however wide it was: `api_passenger`'s final SELECT built on the API
//! passengers' every column rather than on the narrow facts joined to them.
//!
//! [`ScanSize`] gives such a scan the sum of its columns' sizes. It only fills what is unknown:
//! an in-memory table already gives its bytes.

use std::sync::Arc;

use datafusion::common::stats::Precision;
use datafusion::error::Result;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::operator_statistics::{
    ExtendedStatistics, StatisticsProvider, StatisticsRegistry, StatisticsResult,
};
use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};

/// Fills a leaf's unknown total size from its columns' sizes (see the module's documentation).
#[derive(Debug, Default)]
pub struct ScanSize;

impl StatisticsProvider for ScanSize {
    fn compute_statistics(
        &self,
        plan: &dyn ExecutionPlan,
        _child_stats: &[ExtendedStatistics],
    ) -> Result<StatisticsResult> {
        if !plan.children().is_empty() {
            return Ok(StatisticsResult::Delegate);
        }
        let base = StatisticsContext::new().compute(plan, &StatisticsArgs::new())?;
        if base.total_byte_size.get_value().is_some() {
            return Ok(StatisticsResult::Computed(ExtendedStatistics::new_arc(base)));
        }
        let columns: Option<usize> =
            base.column_statistics.iter().map(|c| c.byte_size.get_value().copied()).sum::<Option<usize>>();
        match columns {
            Some(bytes) => {
                let mut stats = Arc::unwrap_or_clone(base);
                stats.total_byte_size = Precision::Inexact(bytes);
                Ok(StatisticsResult::Computed(ExtendedStatistics::new(stats)))
            }
            None => Ok(StatisticsResult::Computed(ExtendedStatistics::new_arc(base))),
        }
    }
}

/// DataFusion's own statistics providers, with [`ScanSize`] first.
pub fn registry() -> StatisticsRegistry {
    let mut registry = StatisticsRegistry::default_with_builtin_providers();
    registry.register(Arc::new(ScanSize));
    registry
}
