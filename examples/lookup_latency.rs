//! Lookup latency on a demo database (see bench/run.sh):
//!   cargo run --release --example lookup_latency -- DB [ORDERS]
//! Builds the search index if it is behind (timed separately), then runs the
//! kinds of queries support agents type, and prints p50/p95/p99/max per kind.

use std::time::{Duration, Instant};
use voucherdesk::lookup::lookup;
use voucherdesk::store::Store;

const QUERIES_PER_KIND: u64 = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or("usage: lookup_latency DB [ORDERS]")?;
    let orders: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let mut store = Store::open(std::path::Path::new(&db))?;
    let started = Instant::now();
    let indexed = store.search_catch_up()?;
    println!("search index catch-up: {indexed} orders in {} ms", started.elapsed().as_millis());
    // A cheap deterministic spread of order numbers (Weyl sequence).
    let pick = |i: u64| 1 + (i * 2_654_435_761) % orders;
    let kinds: Vec<(&str, Box<dyn Fn(u64) -> String>)> = vec![
        ("order id", Box::new(move |i| format!("{}-{:07}", if pick(i) % 2 == 0 { "CO" } else { "PE" }, pick(i)))),
        ("dLocal payment id", Box::new(move |i| format!("D-{:08}", pick(i)))),
        ("CIP", Box::new(move |i| format!("{}", 10_000_000 + pick(i)))),
        ("ticket number", Box::new(move |i| format!("{}", 4_000_000_000u64 + pick(i)))),
        (
            "surname, no accents",
            Box::new(|i| ["nunez", "pena", "munoz", "ibanez", "zuniga"][(i % 5) as usize].to_string()),
        ),
        ("full name", Box::new(|i| ["José Núñez", "maria pena", "Ángela Muñoz"][(i % 3) as usize].to_string())),
        ("email", Box::new(move |i| format!("jose.nunez{}@correo.example", pick(i) % 1000))),
        ("phone digits", Box::new(move |i| format!("3{:02}{:03}", pick(i) % 100, pick(i) % 1000))),
    ];
    println!("| query kind | p50 ms | p95 ms | p99 ms | max ms | hits |");
    println!("|---|---|---|---|---|---|");
    for (name, make) in &kinds {
        let mut times = Vec::new();
        let mut hits = 0usize;
        for i in 0..QUERIES_PER_KIND {
            let q = make(i);
            let t = Instant::now();
            hits += lookup(&mut store, &q, None)?.len();
            times.push(t.elapsed());
        }
        times.sort();
        let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {} | {} | {} | {} | {hits} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
    }
    Ok(())
}
