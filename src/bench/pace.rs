//! The machine's pace at the time of a benchmark: three fixed pieces of work, timed.
//!
//! A benchmark's figures depend on the machine as much as on the code. On a shared virtual
//! machine the same binary on the same data took 87.88 s at one hour and 54.68 s at another
//! (docs/performance.md, change 72), so a report alone cannot say whether a change or the machine
//! moved a figure. The three measurements here do the same work in every build and on every data set,
//! and take about a second together. `paxrisk bench` takes them before it reads the input and
//! again after the run, and reports both:
//!
//! * **compute**: a chain of integer operations on one thread, each step depending on the one
//!   before (the core's clock and the share of it the virtual machine gets);
//! * **random reads**: reads at random places of a table larger than the caches, on one thread,
//!   independent of one another (what a hash join or a grouping waits for);
//! * **fresh memory**: one byte written to each page of memory the process never touched (the
//!   kernel mapping and clearing the page), which ingest and the views pay for every new buffer.

use std::hint::black_box;
use std::time::Instant;

use serde::Serialize;

/// The pace measured at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pace {
    /// Millions of steps per second of a dependent chain of integer operations (xorshift and a
    /// multiplication), one thread.
    pub compute_m_steps_per_s: f64,
    /// Millions of reads per second at random places of a 64 MiB table, one thread.
    pub random_reads_m_per_s: f64,
    /// GB per second of fresh memory made resident (one byte written per page), one thread;
    /// `None` where the process cannot map memory of its own (not Unix).
    pub fresh_memory_gb_per_s: Option<f64>,
}

/// How much work each measurement does.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    /// Steps of the compute chain.
    pub compute_steps: u64,
    /// Bytes of the table read at random places (rounded down to a power of two of 8-byte slots).
    pub table_bytes: usize,
    /// Random reads.
    pub reads: u64,
    /// Bytes of fresh memory.
    pub fresh_bytes: usize,
}

/// The work `paxrisk bench` measures: about 0.2-0.3 s each on a 2.5 GHz server core.
pub const BENCH_WORK: Work =
    Work { compute_steps: 60_000_000, table_bytes: 64 << 20, reads: 8_000_000, fresh_bytes: 256 << 20 };

/// Measures the pace with `work`.
pub fn measure(work: Work) -> Pace {
    Pace {
        compute_m_steps_per_s: per_second(work.compute_steps, || compute(work.compute_steps)) / 1e6,
        random_reads_m_per_s: random_reads(work.table_bytes, work.reads) / 1e6,
        fresh_memory_gb_per_s: fresh_memory(work.fresh_bytes).map(|b| b / 1e9),
    }
}

/// One line for a report: the pace before and after the run.
pub fn describe(start: &Pace, end: &Pace) -> String {
    let fresh = |p: &Pace| p.fresh_memory_gb_per_s.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"));
    format!(
        "compute {:.0} and {:.0} M steps/s, random reads {:.1} and {:.1} M/s, fresh memory {} and {} GB/s",
        start.compute_m_steps_per_s,
        end.compute_m_steps_per_s,
        start.random_reads_m_per_s,
        end.random_reads_m_per_s,
        fresh(start),
        fresh(end)
    )
}

/// `count` units of work done by `f`, per second.
fn per_second(count: u64, f: impl FnOnce() -> u64) -> f64 {
    let started = Instant::now();
    black_box(f());
    count as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

/// One step of xorshift64*, a fixed sequence for any start but zero.
#[inline(always)]
fn step(mut x: u64) -> u64 {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

const START: u64 = 0x9e37_79b9_7f4a_7c15;

fn compute(steps: u64) -> u64 {
    let mut x = black_box(START);
    for _ in 0..steps {
        x = step(x);
    }
    x
}

/// Random reads per second from a table of `table_bytes`, filled before the clock starts.
fn random_reads(table_bytes: usize, reads: u64) -> f64 {
    let slots = (table_bytes / 8).max(1);
    let slots = if slots.is_power_of_two() { slots } else { slots.next_power_of_two() / 2 };
    let table: Vec<u64> = (0..slots as u64).collect();
    let mask = slots - 1;
    per_second(reads, || {
        let (mut x, mut sum) = (black_box(START), 0u64);
        for _ in 0..reads {
            x = step(x);
            // The index comes from the generator, not from what was read: the reads overlap.
            sum = sum.wrapping_add(table[(x >> 17) as usize & mask]);
        }
        sum
    })
}

/// Bytes per second of fresh memory made resident: a private anonymous mapping of `bytes`, one
/// byte written per page, then unmapped. Not through the allocator, which may hand back memory
/// it already holds.
#[cfg(unix)]
fn fresh_memory(bytes: usize) -> Option<f64> {
    // SAFETY: sysconf only reads a system constant.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => 4096,
    };
    let bytes = bytes.max(page);
    // SAFETY: a new private anonymous mapping; nothing else refers to it.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return None;
    }
    let started = Instant::now();
    for offset in (0..bytes).step_by(page) {
        // SAFETY: `offset` is inside the mapping of `bytes` bytes, which is readable and writable.
        unsafe { base.cast::<u8>().add(offset).write_volatile(1) };
    }
    let seconds = started.elapsed().as_secs_f64();
    // SAFETY: the mapping made above, of the same length, not used after this.
    unsafe { libc::munmap(base, bytes) };
    Some(bytes as f64 / seconds.max(1e-9))
}

#[cfg(not(unix))]
fn fresh_memory(_bytes: usize) -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Work = Work { compute_steps: 1_000_000, table_bytes: 1 << 20, reads: 1_000_000, fresh_bytes: 8 << 20 };

    #[test]
    fn each_measurement_is_a_positive_rate() {
        let p = measure(SMALL);
        assert!(p.compute_m_steps_per_s.is_finite() && p.compute_m_steps_per_s > 0.0, "{p:?}");
        assert!(p.random_reads_m_per_s.is_finite() && p.random_reads_m_per_s > 0.0, "{p:?}");
        if cfg!(unix) {
            let fresh = p.fresh_memory_gb_per_s.expect("a Unix process maps memory of its own");
            assert!(fresh.is_finite() && fresh > 0.0, "{p:?}");
        }
    }

    #[test]
    fn the_work_is_the_same_every_time() {
        // The compute chain ends on the same value: the same work, whatever the build.
        assert_eq!(compute(1000), compute(1000));
        assert_ne!(compute(1000), compute(1001));
        let mut x = START;
        for _ in 0..3 {
            x = step(x);
        }
        assert_eq!(compute(3), x);
        assert_ne!(x, 0, "xorshift never reaches zero from a non-zero start");
    }

    #[test]
    fn a_table_that_is_not_a_power_of_two_is_read_inside_its_slots() {
        // 3 MiB of 8-byte slots reads from the lower 2 MiB, 1 byte from one slot: an index past
        // the table would panic.
        assert!(random_reads(3 << 20, 1000) > 0.0);
        assert!(random_reads(1, 1000) > 0.0);
    }

    #[test]
    fn a_report_line_gives_both_moments() {
        let start =
            Pace { compute_m_steps_per_s: 310.4, random_reads_m_per_s: 61.26, fresh_memory_gb_per_s: Some(2.5) };
        let end = Pace { compute_m_steps_per_s: 180.0, random_reads_m_per_s: 40.0, fresh_memory_gb_per_s: None };
        assert_eq!(
            describe(&start, &end),
            "compute 310 and 180 M steps/s, random reads 61.3 and 40.0 M/s, fresh memory 2.50 and n/a GB/s"
        );
    }
}
