//! Durations: the views' hour columns are exact, and the DataFusion day-interval comparison that
//! DESIGN.md warns about is measured on the version in use.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use paxrisk::rules::sandbox::{Limits, Sandbox};

/// 1,000 (departure, booking) pairs with booking 0 to 72 h before departure, in whole minutes.
fn sandbox_with_pairs() -> (Sandbox, Vec<i64>) {
    let mut dep = Vec::new();
    let mut booked = Vec::new();
    let mut minutes_before = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..1000i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let before = (x % (72 * 60)) as i64;
        let d = 1_795_000_000_000_000 + i * 3_600_000_000;
        dep.push(d);
        booked.push(d - before * 60_000_000);
        minutes_before.push(before);
    }
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("dep", ts.clone(), false),
        Field::new("booked", ts, false),
        Field::new("minutes_before", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(TimestampMicrosecondArray::from(dep).with_timezone("UTC")),
            Arc::new(TimestampMicrosecondArray::from(booked).with_timezone("UTC")),
            Arc::new(Int64Array::from(minutes_before.clone())),
        ],
    )
    .unwrap();
    let s = Sandbox::new(Limits { memory_bytes: 256 << 20, timeout: Duration::from_secs(60), threads: 2 }).unwrap();
    s.register_batches("t", vec![batch]).unwrap();
    (s, minutes_before)
}

fn count(s: &Sandbox, predicate: &str) -> usize {
    let batches = s.query(&format!("SELECT count(*) AS n FROM t WHERE {predicate}")).unwrap();
    let col = arrow::compute::cast(batches[0].column(0), &DataType::Int64).unwrap();
    col.as_any().downcast_ref::<Int64Array>().unwrap().value(0) as usize
}

#[test]
fn hours_computed_as_the_views_do_are_exact() {
    let (s, minutes) = sandbox_with_pairs();
    let hours = "(to_unixtime(dep) - to_unixtime(booked)) / 3600.0";
    let over_24 = minutes.iter().filter(|&&m| m > 24 * 60).count();
    let under_48 = minutes.iter().filter(|&&m| m < 48 * 60).count();
    assert_eq!(count(&s, &format!("{hours} > 24")), over_24);
    assert_eq!(count(&s, &format!("{hours} < 48")), under_48);
    assert_eq!(count(&s, "dep < booked + interval '2 days'"), under_48);
    assert_eq!(count(&s, "dep - booked > interval '24 hours'"), over_24);
}

/// Records how DataFusion compares a timestamp difference with a day interval. If this test
/// starts to fail after a DataFusion upgrade, the bug is fixed: say so in DESIGN.md, and the
/// `rules check` refusal of timestamp subtraction can be relaxed.
#[test]
fn day_interval_comparison_of_a_timestamp_difference() {
    let (s, minutes) = sandbox_with_pairs();
    let right_over_1_day = minutes.iter().filter(|&&m| m > 24 * 60).count();
    let right_under_2_days = minutes.iter().filter(|&&m| m < 48 * 60).count();
    let got_over = count(&s, "dep - booked > interval '1 day'");
    let got_under = count(&s, "dep - booked < interval '2 days'");
    eprintln!(
        "dep - booked > interval '1 day': {got_over} (right: {right_over_1_day}); \
         < interval '2 days': {got_under} (right: {right_under_2_days})"
    );
    assert!(
        got_over != right_over_1_day || got_under != right_under_2_days,
        "DataFusion now compares timestamp differences with day intervals correctly"
    );
}
