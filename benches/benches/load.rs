//! Load and memory of a litebridge server run by `proto_tokio::serve`: up to 10,000
//! concurrent clients on loopback, each authenticating, heartbeating and doing
//! request/response round trips.
//!
//! Not a criterion benchmark: it runs once, stops by itself (every phase is bounded
//! in time, the client count is fixed) and prints connections held, round trips per
//! second, lost responses, p50/p99 latency, the server's heap and resident memory per
//! idle authenticated connection, and the idle `Server` machine's size plus heap.
//!
//! The server runs in a child process (this same binary, started with
//! `--load-server`), so its memory is measured alone and each process needs one
//! descriptor per connection, not two. Nothing in the allowed dependencies raises
//! `RLIMIT_NOFILE`, so the bench reads the limit and serves as many clients as it
//! allows (up to 10,000); run it under `ulimit -n 10300` or more for the full count:
//!
//! ```sh
//! cargo bench -p benches --bench load
//! ```
//!
//! Other work on the same machine makes the absolute figures noisy.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benches::alloc_counter::{CountingAllocator, live_bytes};
use litecord_proto::{Client, ClientConfig, Disconnect, Event, RawJson, Server, ServerConfig};
use proto_core::{Input, Machine};
use proto_tokio::ws::{self, WsConfig};
use proto_tokio::{Activity, Driver, ServeConfig, serve};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The argument that makes this binary the server process.
const SERVER_ARG: &str = "--load-server";
const PASSWORD: &str = "helloworld";
/// How many clients to run when the descriptor limit allows.
const TARGET_CONNECTIONS: usize = 10_000;
/// Descriptors each process keeps for everything but the connections.
const DESCRIPTOR_MARGIN: usize = 256;
/// Round trips each client makes, one after the other.
const ROUND_TRIPS_PER_CLIENT: usize = 10;
/// Handshakes in flight at once, below the listener's backlog.
const CONNECTING_AT_ONCE: usize = 256;
/// The longest any phase may take before the run is abandoned.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);
/// Time for the server to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// Heartbeats every 15 s: the run lasts long enough for each client to heartbeat,
/// and an acknowledgement delayed by the load (the client gives up after one
/// interval) does not end the connection.
const HB_INTERVAL: Duration = Duration::from_secs(15);

type Failure = Box<dyn Error + Send + Sync>;

fn main() -> Result<(), Failure> {
    if std::env::args().any(|arg| arg == SERVER_ARG) {
        return server_process();
    }
    load_run()
}

fn machine_config() -> ServerConfig {
    let mut config = ServerConfig::new(PASSWORD);
    config.hb_interval = HB_INTERVAL;
    config.heartbeat_grace = Duration::from_secs(15);
    config
}

// ---- the server process ----

/// Serves litebridge on an ephemeral loopback port, announced on stdout, and
/// answers `measure` and `stop` commands read from stdin.
fn server_process() -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?);
        let (commands_tx, mut commands) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if commands_tx.send(line).is_err() {
                    break;
                }
            }
        });

        let authenticated = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&authenticated);
        let app = move |mut driver: proto_tokio::ServedDriver<Server>| async move {
            let mut counted = false;
            while let Some(activity) = driver.next().await {
                match activity {
                    Activity::Event(Event::Authenticated) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                        counted = true;
                    }
                    Activity::Event(Event::Request(request)) => {
                        let echo = RawJson::from_value(&request.args)
                            .unwrap_or_else(|_| RawJson::from_u64(0));
                        let _ = driver.machine().respond(&request.nonce, echo);
                    }
                    _ => {}
                }
            }
            if counted {
                counter.fetch_sub(1, Ordering::Relaxed);
            }
        };
        let machine = machine_config();
        let config = ServeConfig {
            max_connections: TARGET_CONNECTIONS + DESCRIPTOR_MARGIN,
            // Every closing handshake is awaited, however loaded the machine.
            shutdown_timeout: PHASE_TIMEOUT,
            ..ServeConfig::new(WsConfig::from_limits(&machine.limits))
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            config,
            move |_| Server::new(machine.clone()),
            Server::close,
            app,
            async {
                let _ = stopped.await;
            },
        ));
        while let Some(command) = commands.recv().await {
            match command.as_str() {
                "measure" => println!(
                    "measured {} {} {}",
                    live_bytes(),
                    resident_bytes().unwrap_or(0),
                    authenticated.load(Ordering::Relaxed)
                ),
                _ => break,
            }
        }
        let _ = stop.send(());
        let summary = server.await?;
        println!(
            "stopped {} {} {}",
            summary.served, summary.refused, summary.dropped_at_shutdown
        );
        Ok(())
    })
}

/// The process's resident set, from `/proc` (Linux only).
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The soft limit on open descriptors, from `/proc` (Linux only).
fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// ---- the client process ----

/// The server process and its pipes.
struct ServerProcess {
    child: Child,
    commands: ChildStdin,
    answers: std::io::Lines<BufReader<ChildStdout>>,
}

/// What the server said about its memory and connections.
#[derive(Debug, Clone, Copy)]
struct Measure {
    heap: usize,
    resident: usize,
    authenticated: usize,
}

impl ServerProcess {
    fn start() -> Result<(Self, String), Failure> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(SERVER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let commands = child.stdin.take().ok_or("no stdin")?;
        let answers = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let mut process = ServerProcess {
            child,
            commands,
            answers,
        };
        let line = process.answer()?;
        let addr = line
            .strip_prefix("listening ")
            .ok_or_else(|| format!("unexpected {line:?}"))?
            .to_owned();
        Ok((process, format!("ws://{addr}")))
    }

    fn answer(&mut self) -> Result<String, Failure> {
        Ok(self.answers.next().ok_or("the server process ended")??)
    }

    fn measure(&mut self) -> Result<Measure, Failure> {
        writeln!(self.commands, "measure")?;
        let line = self.answer()?;
        let fields: Vec<usize> = line
            .strip_prefix("measured ")
            .ok_or_else(|| format!("unexpected {line:?}"))?
            .split(' ')
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let [heap, resident, authenticated] = fields[..] else {
            return Err(format!("unexpected {line:?}").into());
        };
        Ok(Measure {
            heap,
            resident,
            authenticated,
        })
    }

    /// Asks the server to shut down and returns its summary line.
    fn stop(mut self) -> Result<String, Failure> {
        writeln!(self.commands, "stop")?;
        let summary = self.answer();
        let deadline = Instant::now() + PHASE_TIMEOUT;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        summary
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Connect,
    Load,
}

/// What one client saw.
#[derive(Debug, Default)]
struct ClientReport {
    authenticated: bool,
    latencies: Vec<Duration>,
    lost: usize,
}

fn load_run() -> Result<(), Failure> {
    let limit = descriptor_limit();
    let clients = limit.map_or(TARGET_CONNECTIONS, |limit| {
        TARGET_CONNECTIONS.min(limit.saturating_sub(DESCRIPTOR_MARGIN))
    });
    println!(
        "descriptor limit (RLIMIT_NOFILE, soft) per process: {}; clients: {clients}",
        limit.map_or("unknown".to_owned(), |limit| limit.to_string())
    );
    idle_machine();

    let (mut server, url) = ServerProcess::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let baseline = server.measure()?;

    let (phase_tx, phase) = watch::channel(Phase::Connect);
    let connecting = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let authenticated = Arc::new(AtomicUsize::new(0));
    let going_away = Arc::new(AtomicUsize::new(0));
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            runtime.spawn(client(
                url.clone(),
                Arc::clone(&connecting),
                Arc::clone(&authenticated),
                Arc::clone(&going_away),
                phase.clone(),
                reports_tx.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while authenticated.load(Ordering::Relaxed) < clients && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let connect_time = started.elapsed();
    std::thread::sleep(SETTLE);
    let idle = server.measure()?;

    let load_started = Instant::now();
    phase_tx.send_replace(Phase::Load);
    let reports: Vec<ClientReport> = runtime.block_on(async {
        let mut reports = Vec::with_capacity(clients);
        let collect = async {
            while let Some(report) = reports_rx.recv().await {
                reports.push(report);
                if reports.len() == clients {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(PHASE_TIMEOUT, collect).await;
        reports
    });
    let load_time = load_started.elapsed();
    // Every client is still connected, idle again.
    std::thread::sleep(SETTLE);
    let after = server.measure()?;
    let stopping = Instant::now();
    let summary = server.stop()?;
    let stop_time = stopping.elapsed();
    runtime.block_on(async {
        let _ = tokio::time::timeout(PHASE_TIMEOUT, async {
            for task in tasks {
                let _ = task.await;
            }
        })
        .await;
    });
    drop(runtime);

    let mut latencies: Vec<Duration> = reports
        .iter()
        .flat_map(|report| report.latencies.iter().copied())
        .collect();
    latencies.sort();
    let completed = latencies.len();
    let lost: usize = reports.iter().map(|report| report.lost).sum();
    let held = reports.iter().filter(|report| report.authenticated).count();
    let percentile = |p: usize| {
        latencies
            .get((completed * p / 100).min(completed.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let per_connection =
        |now: usize, then: usize| now.saturating_sub(then) / idle.authenticated.max(1);
    println!(
        "connections held:        {held} of {clients} (server counted {} authenticated, idle)",
        idle.authenticated
    );
    println!("connect + authenticate:  {connect_time:.2?} for all");
    println!(
        "round trips:             {completed} in {load_time:.2?} = {:.0}/s",
        completed as f64 / load_time.as_secs_f64()
    );
    println!("lost responses:          {lost}");
    println!(
        "latency:                 p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        percentile(50),
        percentile(99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "server heap per idle authenticated connection:     {} bytes ({} -> {} bytes live)",
        per_connection(idle.heap, baseline.heap),
        baseline.heap,
        idle.heap
    );
    println!(
        "server resident per idle authenticated connection: {} bytes ({} -> {} bytes RSS)",
        per_connection(idle.resident, baseline.resident),
        baseline.resident,
        idle.resident
    );
    println!(
        "server after the load: {} connections, {} bytes live",
        after.authenticated, after.heap
    );
    println!(
        "server stopped in {stop_time:.2?} (served, refused, dropped at shutdown): {}",
        summary.trim_start_matches("stopped ")
    );
    println!(
        "clients closed with 1001 at shutdown: {}",
        going_away.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Prints the size and heap of a `Server` machine idle after authentication.
fn idle_machine() {
    let t0 = Instant::now();
    let before = live_bytes();
    let mut server = Server::new(machine_config());
    let _ = server.handle_input(t0, Input::opened());
    let _ = server.handle_input(t0, Input::text(r#"{"op":1,"password":"helloworld"}"#));
    let _ = server.handle_input(t0, Input::text(r#"{"op":2}"#));
    while server.poll_output().is_some() {}
    let heap = live_bytes().saturating_sub(before);
    let size = std::mem::size_of::<Server>();
    println!(
        "idle authenticated Server machine: size_of {size} + heap {heap} = {} bytes",
        size + heap
    );
    drop(server);
}

/// One client: connects, authenticates, idles (heartbeating) until the load phase,
/// makes its round trips and reports them, then stays connected until the server
/// shuts down.
async fn client(
    url: String,
    connecting: Arc<Semaphore>,
    authenticated: Arc<AtomicUsize>,
    going_away: Arc<AtomicUsize>,
    mut phase: watch::Receiver<Phase>,
    reports: mpsc::UnboundedSender<ClientReport>,
) {
    let mut report = ClientReport::default();
    let Ok(mut driver) = connect(&url, &connecting).await else {
        report.lost = ROUND_TRIPS_PER_CLIENT;
        let _ = reports.send(report);
        return;
    };
    report.authenticated = true;
    authenticated.fetch_add(1, Ordering::Relaxed);

    let idle = async {
        loop {
            tokio::select! {
                activity = driver.next() => if activity.is_none() { return false },
                _ = phase.wait_for(|phase| *phase == Phase::Load) => return true,
            }
        }
    };
    if !tokio::time::timeout(PHASE_TIMEOUT, idle)
        .await
        .unwrap_or(false)
    {
        report.lost = ROUND_TRIPS_PER_CLIENT;
        let _ = reports.send(report);
        return;
    }
    for n in 0..ROUND_TRIPS_PER_CLIENT {
        match tokio::time::timeout(PHASE_TIMEOUT, round_trip(&mut driver, n)).await {
            Ok(Some(latency)) => report.latencies.push(latency),
            _ => report.lost += 1,
        }
    }
    let _ = reports.send(report);
    let until_closed = async {
        while let Some(activity) = driver.next().await {
            if let Activity::Event(Event::Disconnected(Disconnect::Remote(Some(close)))) = activity
            {
                if close.code == 1001 {
                    going_away.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    };
    let _ = tokio::time::timeout(PHASE_TIMEOUT * 2, until_closed).await;
}

async fn connect(
    url: &str,
    connecting: &Semaphore,
) -> Result<Driver<Client, impl proto_tokio::Transport + use<>>, Failure> {
    let _permit = connecting.acquire().await?;
    let (transport, _) = tokio::time::timeout(PHASE_TIMEOUT, ws::connect(url)).await??;
    let mut config = ClientConfig::new(PASSWORD);
    config.request_timeout = PHASE_TIMEOUT;
    let mut driver = Driver::new(Client::new(config), transport);
    loop {
        match tokio::time::timeout(PHASE_TIMEOUT, driver.next()).await? {
            Some(Activity::Event(Event::Authenticated)) => return Ok(driver),
            Some(Activity::Event(Event::Disconnected(Disconnect::Remote(close)))) => {
                return Err(format!("closed by the server: {close:?}").into());
            }
            Some(_) => {}
            None => return Err("the connection ended".into()),
        }
    }
}

/// One request and its response; `None` if the response never came.
async fn round_trip(
    driver: &mut Driver<Client, impl proto_tokio::Transport>,
    n: usize,
) -> Option<Duration> {
    let sent = Instant::now();
    let id = driver
        .machine()
        .send_request(sent, "echo", vec![RawJson::from_u64(n as u64)])
        .ok()?;
    loop {
        match driver.next().await? {
            Activity::Event(Event::Response { id: answered, .. }) if answered == id => {
                return Some(sent.elapsed());
            }
            Activity::Event(Event::RequestFailed { id: failed, .. }) if failed == id => {
                return None;
            }
            _ => {}
        }
    }
}
