//! Benchmark support: the data generator behind `supportbill bench generate` and
//! `cargo bench --bench perf` (see BENCHMARKS.md).

pub mod generate;
