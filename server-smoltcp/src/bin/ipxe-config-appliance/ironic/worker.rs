//! The sync thread: full syncs and incremental polls against Ironic, away from the
//! smoltcp loop, which only ever receives finished inventories over a channel. Waiting
//! on Ironic (slow, down, refusing) never delays a client.
//!
//! Degraded mode: a failed sync changes nothing the loop serves; the thread logs once
//! when the outage starts (with the age of the last good sync) and once when it ends,
//! and the first sync after an outage is a full one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::client::{FetchError, IronicClient};
use super::fleet::Fleet;
use super::sync::{self, Filters, Paging, Poll};
use crate::reload::{Loaded, ReloadError};

/// How often and how much to ask.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Between incremental polls.
    pub poll_every: Duration,
    /// Between full syncs.
    pub full_every: Duration,
    /// Between attempts while Ironic is unreachable.
    pub retry_every: Duration,
    pub paging: Paging,
    pub filters: Filters,
}

/// A finished inventory for the loop to swap in, and what to log when it does.
pub struct Update {
    pub loaded: Loaded,
    pub report: String,
}

/// What the metrics endpoint and the logs show of the sync, shared with the loop.
#[derive(Debug, Default)]
pub struct SyncStats {
    /// Unix time (ms) of the last sync that succeeded; 0 before the first.
    pub last_good_unix_ms: AtomicU64,
    /// How long the last full sync took (µs).
    pub full_sync_micros: AtomicU64,
    /// Requests sent to Ironic.
    pub requests: AtomicU64,
    /// Syncs that failed.
    pub failures: AtomicU64,
    /// Whether Ironic is unreachable now.
    pub in_outage: AtomicBool,
}

impl SyncStats {
    /// Seconds since the last good sync, if there was one.
    pub fn age_seconds(&self) -> Option<f64> {
        match self.last_good_unix_ms.load(Ordering::Relaxed) {
            0 => None,
            // Exact below 2^52 ms, some 140,000 years.
            #[allow(clippy::cast_precision_loss)]
            at => Some(unix_ms().saturating_sub(at) as f64 / 1000.0),
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Builds an inventory from a fleet document (the loader with the appliance's limits).
pub type Build = Box<dyn Fn(&[u8]) -> Result<Loaded, ReloadError> + Send>;

/// The sync state a thread carries.
pub struct Syncer {
    pub client: IronicClient,
    pub schedule: Schedule,
    pub build: Build,
    pub stats: Arc<SyncStats>,
    fleet: Fleet,
    outage_since: Option<Instant>,
    full_due: Instant,
    load_error: Option<String>,
    /// A periodic full sync running on a thread of its own, so polls go on meanwhile.
    full_job: Option<std::thread::JoinHandle<FullJob>>,
}

/// What a background full sync brings back.
struct FullJob {
    result: Result<Fleet, FetchError>,
    requests: u64,
    took: Duration,
}

impl Syncer {
    /// A syncer whose first round is a full sync.
    pub fn new(client: IronicClient, schedule: Schedule, build: Build, stats: Arc<SyncStats>) -> Self {
        Syncer {
            client,
            schedule,
            build,
            stats,
            fleet: Fleet::default(),
            outage_since: None,
            full_due: Instant::now(),
            load_error: None,
            full_job: None,
        }
    }

    /// One round: a full sync when due, else a poll. Returns the inventory to swap in
    /// when something changed, and the pause before the next round.
    ///
    /// The first full sync, and those while Ironic is unreachable, run here; a periodic
    /// one runs on a thread beside the polls (at 1,000 nodes it takes about a second,
    /// which a change made meanwhile would otherwise wait for). Its result replaces the
    /// fleet; its marks were read before its pages, so the next poll applies again what
    /// changed while it ran.
    pub fn round(&mut self) -> (Option<Update>, Duration) {
        if let Some(job) = self.full_job.take_if(|job| job.is_finished()) {
            let finished = job.join().unwrap_or_else(|_| FullJob {
                result: Err(FetchError::Body("the full sync thread panicked".into())),
                requests: 0,
                took: Duration::ZERO,
            });
            self.stats.requests.fetch_add(finished.requests, Ordering::Relaxed);
            let result = match finished.result {
                Ok(fleet) => {
                    let report =
                        format!("full sync of {} nodes in {} ms", fleet.node_count(), finished.took.as_millis());
                    self.fleet = fleet;
                    // At once, before anything is swapped in: a change the polls applied
                    // while the pages were read must not go back to the older page.
                    let before = self.client.requests;
                    let polled = self.poll();
                    self.stats.requests.fetch_add(self.client.requests - before, Ordering::Relaxed);
                    polled.map(|_| Some(report))
                }
                Err(error) => Err(error),
            };
            return self.settle(result, Some(finished.took));
        }
        let due = Instant::now() >= self.full_due;
        let synced_before = self.stats.last_good_unix_ms.load(Ordering::Relaxed) != 0;
        if due && synced_before && self.outage_since.is_none() {
            if self.full_job.is_none() {
                self.spawn_full_sync();
            }
        } else if due {
            let started = Instant::now();
            let before = self.client.requests;
            let result = self.full_sync();
            self.stats.requests.fetch_add(self.client.requests - before, Ordering::Relaxed);
            return self.settle(result, Some(started.elapsed()));
        }
        let before = self.client.requests;
        let result = self.poll();
        self.stats.requests.fetch_add(self.client.requests - before, Ordering::Relaxed);
        self.settle(result, None)
    }

    fn spawn_full_sync(&mut self) {
        let mut client = self.client.clone();
        let (filters, paging) = (self.schedule.filters.clone(), self.schedule.paging);
        self.full_due = Instant::now() + self.schedule.full_every;
        let job = std::thread::Builder::new().name("ironic-full-sync".into()).spawn(move || {
            let started = Instant::now();
            let before = client.requests;
            let result = sync::full(&mut client, &filters, paging);
            FullJob { result, requests: client.requests - before, took: started.elapsed() }
        });
        match job {
            Ok(job) => self.full_job = Some(job),
            // No thread to be had: the next round does it here.
            Err(error) => {
                ::log::warn!("ironic: cannot start a full sync thread ({error}); syncing in line");
                self.full_due = Instant::now();
            }
        }
    }

    /// Logs, counts and schedules after a sync; `full` is how long a full one took.
    fn settle(
        &mut self,
        result: Result<Option<String>, FetchError>,
        full: Option<Duration>,
    ) -> (Option<Update>, Duration) {
        match result {
            Ok(changed) => {
                self.stats.last_good_unix_ms.store(unix_ms(), Ordering::Relaxed);
                if let Some(took) = full {
                    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                    self.stats.full_sync_micros.store(micros, Ordering::Relaxed);
                    if self.full_job.is_none() {
                        self.full_due = Instant::now() + self.schedule.full_every;
                    }
                }
                if let Some(since) = self.outage_since.take() {
                    self.stats.in_outage.store(false, Ordering::Relaxed);
                    ::log::warn!("ironic: reachable again after {:.1} s; synced", since.elapsed().as_secs_f64());
                }
                let update = changed.and_then(|report| self.rebuild(report));
                (update, self.schedule.poll_every)
            }
            Err(error) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                if self.outage_since.is_none() {
                    self.outage_since = Some(Instant::now());
                    self.stats.in_outage.store(true, Ordering::Relaxed);
                    match self.stats.age_seconds() {
                        Some(age) => ::log::warn!(
                            "ironic: sync failed, serving the last good inventory ({age:.1} s old): {error}"
                        ),
                        None => ::log::warn!("ironic: sync failed, no good sync yet (start-up waits for one): {error}"),
                    }
                }
                // Deletions may have happened meanwhile: the next success is a full sync.
                self.full_due = Instant::now();
                (None, self.schedule.retry_every)
            }
        }
    }

    /// `Some(report)` when the inventory must be rebuilt.
    fn full_sync(&mut self) -> Result<Option<String>, FetchError> {
        let started = Instant::now();
        let fleet = sync::full(&mut self.client, &self.schedule.filters, self.schedule.paging)?;
        let report = format!("full sync of {} nodes in {} ms", fleet.node_count(), started.elapsed().as_millis());
        self.fleet = fleet;
        Ok(Some(report))
    }

    fn poll(&mut self) -> Result<Option<String>, FetchError> {
        match sync::poll(&mut self.client, &self.fleet, &self.schedule.filters, self.schedule.paging)? {
            // So many changed that a full sync is cheaper; it restarts the period.
            Poll::TooMany => {
                self.full_due = Instant::now() + self.schedule.full_every;
                self.full_sync()
            }
            Poll::Recent { nodes, ports } => {
                let changed_nodes = self.fleet.apply_nodes(&nodes);
                let changed_ports = self.fleet.apply_ports(&ports);
                if changed_nodes.is_empty() && changed_ports.is_empty() {
                    return Ok(None);
                }
                let mut report: Vec<String> = changed_nodes
                    .iter()
                    .take(10)
                    .map(|uuid| format!("node {uuid} {}", self.fleet.provision_state(uuid)))
                    .collect();
                if changed_nodes.len() > 10 {
                    report.push(format!("and {} more nodes", changed_nodes.len() - 10));
                }
                if !changed_ports.is_empty() {
                    report.push(format!("{} new ports", changed_ports.len()));
                }
                Ok(Some(report.join(", ")))
            }
        }
    }

    fn rebuild(&mut self, report: String) -> Option<Update> {
        match (self.build)(&self.fleet.document()) {
            Ok(loaded) => {
                self.load_error = None;
                Some(Update { loaded, report })
            }
            Err(error) => {
                let message = error.to_string();
                // Once per distinct error, not every round.
                if self.load_error.as_deref() != Some(message.as_str()) {
                    ::log::error!("ironic: the synced inventory does not load, keeping the previous one: {message}");
                    self.load_error = Some(message);
                }
                None
            }
        }
    }

    /// Runs rounds until the receiving end is gone.
    pub fn run(mut self, updates: &Sender<Update>) {
        loop {
            let (update, pause) = self.round();
            if let Some(update) = update {
                if updates.send(update).is_err() {
                    return;
                }
            }
            std::thread::sleep(pause);
        }
    }
}
