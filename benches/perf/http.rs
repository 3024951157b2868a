//! The HTTP figures: `wrk` against a served copy, and the soak under mixed traffic.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::*;

/// `wrk` against a served copy: GET of issued invoices (client of the API, admin key) and the
/// trivial `/version` route.
pub(crate) fn http(args: &Args, backend: &'static str, db: &Database, ids: &[i64], sub: i64, report: &mut Report) {
    if Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        eprintln!("\n!!! wrk is not installed (apt-get install wrk): HTTP benchmark SKIPPED\n");
        return;
    }
    let (token, _, _) = child(&db.url, &["create-key", "--role", "admin", "--name", "bench"]);
    let token = token.trim().to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_supportbill"))
        .args(["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0", "--rate-limit-per-second", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    let mut out = std::io::BufReader::new(server.stdout.take().expect("stdout"));
    let addr = loop {
        line.clear();
        if std::io::BufRead::read_line(&mut out, &mut line).expect("read") == 0 {
            panic!("the server exited");
        }
        if let Some(rest) = line.strip_prefix("supportbill listening on http://") {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    let dir = tempdir();
    let script = dir.join("invoices.lua");
    std::fs::write(
        &script,
        format!(
            "local first, count = {}, {}\nrequest = function()\n  return wrk.format(\"GET\", \"/api/v1/invoices/\" .. (first + math.random(0, count - 1)), {{[\"Authorization\"] = \"Bearer {token}\"}})\nend\n",
            ids[0],
            ids.len()
        ),
    )
    .expect("lua");
    let seconds = args.wrk_seconds.to_string();
    let run = |extra: &[&str], url: String| -> (f64, String) {
        let out = Command::new("wrk")
            .args(["-t2", "-c32", "-d", &format!("{seconds}s"), "--latency"])
            .args(extra)
            .arg(url)
            .output()
            .expect("wrk");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let rps = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let p99 =
            text.lines().find_map(|l| l.trim().strip_prefix("99%")).map(|v| v.trim().to_string()).unwrap_or_default();
        assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
        (rps, p99)
    };
    let (base_rps, base_p99) = run(&[], format!("http://{addr}/version"));
    let script_arg = script.to_string_lossy().to_string();
    let (rps, p99) = run(&["-s", &script_arg], format!("http://{addr}"));
    let soak = (args.soak_seconds > 0).then(|| soak(args.soak_seconds, &addr, &token, ids, sub, &dir, server.id()));
    let _ = server.kill();
    let _ = server.wait();
    if let Some((requests, rate, errors, memory)) = soak {
        let rss: Vec<u64> = memory.iter().map(|m| m.0).collect();
        let first = rss.first().copied().unwrap_or(0);
        let last = rss.last().copied().unwrap_or(0);
        let peak = rss.iter().copied().max().unwrap_or(0);
        let samples: Vec<String> = rss.iter().map(|kb| format!("{}", kb / 1024)).collect();
        // The rest of the process: RSS less what SQLite holds (its page caches grow with the
        // database the soak's POSTs grow, up to 16 MiB a pooled connection).
        let rest: Vec<String> =
            memory.iter().map(|(kb, sqlite)| format!("{}", kb.saturating_sub(sqlite / 1024) / 1024)).collect();
        let sqlite: Vec<String> = memory.iter().map(|(_, sqlite)| format!("{}", sqlite / (1024 * 1024))).collect();
        println!("  soak memory every 5 s, MB: RSS {}", samples.join(" "));
        println!("  of which SQLite (supportbill_sqlite_memory_bytes): {}", sqlite.join(" "));
        println!("  RSS less SQLite: {}", rest.join(" "));
        assert_eq!(errors, 0, "the soak run saw {errors} failed requests");
        report.add(
            backend,
            &format!("soak: mixed traffic for {} s (wrk, 2 threads, 16 connections)", args.soak_seconds),
            format!("{requests} requests, {rate:.0} req/s, 0 errors"),
            format!("server RSS MB every 5 s: {}; less SQLite's own memory: {}", samples.join(" "), rest.join(" ")),
            format!("RSS {}→{} MB, peak {} MB", first / 1024, last / 1024, peak / 1024),
            "no errors, flat memory",
        );
    }
    report.add(
        backend,
        "GET /api/v1/invoices/{id} (wrk, 2 threads, 32 connections)",
        format!("{} req/s, p99 {p99}", fmt_rate(rps).trim_end_matches("/s")),
        format!("/version {} req/s, p99 {base_p99}", fmt_rate(base_rps).trim_end_matches("/s")),
        format!("{:.2}x", rps / base_rps.max(1e-9)),
        ">= 10k req/s, p99 < 20 ms",
    );
}

/// Mixed traffic for `seconds` against the server `pid` at `addr`: 60 % GET of an issued
/// invoice, 20 % invoice lists, 10 % one day's usage summary, 10 % POST of a time entry.
/// Returns (requests, requests/s, failed requests, the server's RSS in KB every 5 s).
fn soak(
    seconds: u32,
    addr: &str,
    token: &str,
    ids: &[i64],
    sub: i64,
    dir: &std::path::Path,
    pid: u32,
) -> (u64, f64, u64, Vec<(u64, u64)>) {
    let script = dir.join("soak.lua");
    std::fs::write(
        &script,
        format!(
            r#"local first, count, token = {first}, {count}, "{token}"
counter = 0
request = function()
  counter = counter + 1
  local r = counter % 10
  local h = {{["Authorization"] = "Bearer " .. token}}
  if r < 6 then
    return wrk.format("GET", "/api/v1/invoices/" .. (first + math.random(0, count - 1)), h)
  elseif r < 8 then
    return wrk.format("GET", "/api/v1/invoices?limit=50", h)
  elseif r < 9 then
    return wrk.format("GET", "/api/v1/reports/usage?from=2026-12-01&to=2026-12-02&group_by=category", h)
  else
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/time-entries", h, '{{"subscription_id": {sub}, "agent": "soak", "started_at": "2026-12-01T09:00:00Z", "minutes": 15, "category": "technical"}}')
  end
end
"#,
            first = ids[0],
            count = ids.len(),
        ),
    )
    .expect("soak.lua");
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.split_whitespace().next()?.parse().ok()))
            })
            .unwrap_or(0)
    };
    let wrk = Command::new("wrk")
        .args(["-t2", "-c16", "-d", &format!("{seconds}s"), "-s"])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("wrk");
    // The server's own gauge of what SQLite holds, from /metrics (0 on PostgreSQL).
    let sqlite_bytes = || -> u64 {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return 0 };
        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text.lines()
            .find_map(|l| l.strip_prefix("supportbill_sqlite_memory_bytes "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let mut samples = vec![(rss(pid), sqlite_bytes())];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds as u64) {
        std::thread::sleep(Duration::from_secs(5).min(Duration::from_secs(seconds as u64)));
        samples.push((rss(pid), sqlite_bytes()));
    }
    let out = wrk.wait_with_output().expect("wrk output");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let requests = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split(" requests in")
                .next()
                .filter(|_| l.contains(" requests in"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0);
    let rate =
        text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
    // "Socket errors: connect 0, read 0, write 0, timeout 3": the sum of the four.
    let socket_errors: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|v| v.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
        + socket_errors;
    assert!(requests > 0, "wrk made no requests: {text}");
    if errors > 0 {
        eprintln!("wrk reported failed requests:\n{text}");
    }
    (requests, rate, errors, samples)
}
