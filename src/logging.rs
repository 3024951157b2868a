//! The process's log: `key=value` lines on stderr, written by a thread of its own.
//!
//! env_logger writes each line on the thread that logs it. While serving, that is an actix
//! worker, and a `write` to a stderr redirected to a file can wait on the kernel's writeback for
//! a long time; every request on that worker waits with it (docs/performance-findings.md,
//! finding 19).
//! So lines go into a bounded queue and one writer thread empties it, flushing whenever the
//! queue runs dry. When the queue is full, a logging thread waits: no line is ever dropped.
//!
//! [`LogGuard`] drains the queue when dropped; `main` keeps it until the end, so a command's
//! last lines are on stderr before the process exits.

use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

/// Lines the queue holds before a logging thread has to wait (an access line is ~150 bytes).
const QUEUE_LINES: usize = 8_192;

enum Message {
    Line(Vec<u8>),
    /// Answered once every line queued before it has been written and flushed.
    Drain(SyncSender<()>),
}

/// Sets up the global logger: `RUST_LOG` filters (default `info`), lines go to stderr through
/// the writer thread. Keep the guard until the process ends. Fails only when the thread cannot
/// be started.
pub fn init() -> io::Result<LogGuard> {
    let (writer, guard) = spawn(io::stderr(), QUEUE_LINES)?;
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            writeln!(
                buf,
                "ts={} level={} target={} {}",
                buf.timestamp_millis(),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .target(env_logger::Target::Pipe(Box::new(writer)))
        .init();
    Ok(guard)
}

/// Starts the writer thread over `sink`. The [`QueueWriter`] is what loggers write to.
pub fn spawn<W: Write + Send + 'static>(sink: W, capacity: usize) -> io::Result<(QueueWriter, LogGuard)> {
    let (tx, rx) = sync_channel(capacity);
    thread::Builder::new().name("log-writer".into()).spawn(move || pump(rx, sink))?;
    Ok((QueueWriter { tx: tx.clone() }, LogGuard { tx }))
}

fn pump<W: Write>(rx: Receiver<Message>, sink: W) {
    let mut out = BufWriter::with_capacity(64 * 1024, sink);
    // Write errors are dropped, as env_logger drops them: there is nowhere left to report them.
    let handle = |out: &mut BufWriter<W>, message: Message| match message {
        Message::Line(line) => {
            let _ = out.write_all(&line);
        }
        Message::Drain(done) => {
            let _ = out.flush();
            let _ = done.send(());
        }
    };
    while let Ok(message) = rx.recv() {
        handle(&mut out, message);
        while let Ok(message) = rx.try_recv() {
            handle(&mut out, message);
        }
        let _ = out.flush();
    }
}

/// The logger's end of the queue: each `write` queues one copy of the bytes.
pub struct QueueWriter {
    tx: SyncSender<Message>,
}

impl Write for QueueWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .send(Message::Line(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "log writer stopped"))?;
        Ok(buf.len())
    }

    /// The writer thread flushes when the queue runs dry; waiting here would bring back the
    /// stall the queue exists to avoid.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Drains the queue when dropped.
pub struct LogGuard {
    tx: SyncSender<Message>,
}

impl LogGuard {
    /// Waits until every line queued so far is written and flushed.
    pub fn drain(&self) {
        let (done_tx, done_rx) = sync_channel(1);
        if self.tx.send(Message::Drain(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.drain();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;

    /// A sink whose writes wait until the test opens the gate, like a stalled disk.
    struct GatedSink {
        gate: Arc<Mutex<()>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for GatedSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_sink_does_not_hold_up_the_logging_thread_and_drain_delivers_every_line_in_order() {
        let gate = Arc::new(Mutex::new(()));
        let written = Arc::new(Mutex::new(Vec::new()));
        let (mut writer, guard) = spawn(GatedSink { gate: gate.clone(), written: written.clone() }, 1_000).unwrap();
        // Declared after the guard, so a failing test opens the gate before the guard drains.
        let closed = gate.lock().unwrap();

        // A logging thread writes 500 lines while the sink is stalled. Written synchronously,
        // it would block on the first line until the gate opens, and never report.
        let (reported_tx, reported_rx) = mpsc::channel();
        let logger = thread::spawn(move || {
            for i in 0..500 {
                writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
            }
            reported_tx.send(()).unwrap();
        });
        reported_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the logging thread finished while the sink was stalled");
        assert!(written.lock().unwrap().is_empty(), "nothing can reach a stalled sink");
        logger.join().unwrap();

        drop(closed);
        drop(guard);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let expected: String = (0..500).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn a_full_queue_makes_the_logging_thread_wait_instead_of_dropping_lines() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (mut writer, guard) =
            spawn(GatedSink { gate: Arc::new(Mutex::new(())), written: written.clone() }, 2).unwrap();
        for i in 0..10_000 {
            writer.write_all(format!("{i}\n").as_bytes()).unwrap();
        }
        guard.drain();
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 10_000);
        assert_eq!(text.lines().last(), Some("9999"));
    }
}
