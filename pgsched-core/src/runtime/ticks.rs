//! Where the runtime's timer loops take their ticks from, and what they report.
//!
//! The periodic enqueuer and the sweep run on timers. In production those are tokio intervals
//! ([`TickSource::default`]). A test can hand the worker a [`TickSource::manual`] instead:
//! then the loops tick only when the test asks ([`TickSource::tick_periodic`],
//! [`TickSource::sweep`]), and the test awaits the tick's report (what it decided, at which
//! database time). [`TickSource::observed`] keeps the real intervals and reports every tick,
//! so a test waits on events instead of sleeping to prove that something did not happen.
//!
//! Only *when* a loop runs comes from here: every decision a tick makes still uses the
//! database clock it reads (see [`crate::periodic::decide`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, OwnedMutexGuard, broadcast, mpsc, oneshot};

/// How many reports a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 1024;

/// Where the periodic and sweep loops take their ticks from. Cheap to clone: clones share
/// one hand, so a test keeps one and gives a clone to the worker.
#[derive(Clone, Default)]
pub struct TickSource {
    /// `None`: tokio intervals, nothing reported (production).
    hand: Option<Arc<Hand>>,
}

/// What a hand-driven or observed source shares with the loops.
pub(crate) struct Hand {
    /// Whether the loops also tick on their real intervals.
    intervals: bool,
    periodic: Lane<PeriodicTick>,
    sweep: Lane<SweepPass>,
    events: broadcast::Sender<TickEvent>,
}

/// Tick requests for one loop: each carries where to send the tick's report.
pub(crate) struct Lane<R> {
    requests: mpsc::UnboundedSender<oneshot::Sender<R>>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<oneshot::Sender<R>>>>,
}

impl<R> Lane<R> {
    fn new() -> Lane<R> {
        let (requests, receiver) = mpsc::unbounded_channel();
        Lane {
            requests,
            receiver: Arc::new(Mutex::new(receiver)),
        }
    }
}

/// Something a timer loop did, as reported to [`TickSource::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickEvent {
    /// The periodic enqueuer finished a tick.
    Periodic(PeriodicTick),
    /// The sweep finished a pass (including the one a worker runs when it starts).
    Sweep(SweepPass),
    /// The claim loop found nothing to claim and now waits this long (unless woken).
    ClaimIdle {
        /// How long it waits before claiming again, if nothing wakes it.
        wait: Duration,
    },
    /// The worker subscribed to notifications: from now on a notification wakes it.
    Listening,
}

/// What one periodic tick decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeriodicTick {
    /// The database time the tick decided at; `None` when it could not read the schedules.
    pub now: Option<DateTime<Utc>>,
    /// Why the tick did nothing, when registering or reading the schedules failed.
    pub error: Option<String>,
    /// Each of this worker's schedules, in registry order.
    pub schedules: Vec<ScheduleTick>,
}

impl PeriodicTick {
    /// What the tick decided for the schedule `key`, if it evaluated it.
    #[must_use]
    pub fn decision(&self, key: &str) -> Option<&ScheduleDecision> {
        self.schedules
            .iter()
            .find(|schedule| schedule.key == key)
            .map(|schedule| &schedule.decision)
    }
}

/// What a periodic tick decided for one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTick {
    /// The schedule's dedup key.
    pub key: String,
    /// What the tick did with it.
    pub decision: ScheduleDecision,
}

/// What a periodic tick did with one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleDecision {
    /// The store has no row for the key (not registered yet).
    Unregistered,
    /// Another replica's expression is in force for the key: nothing enqueued.
    NotInForce,
    /// The schedule is disabled: nothing enqueued.
    Disabled,
    /// The schedule was evaluated against the database time.
    Evaluated {
        /// Windows this tick enqueued.
        enqueued: Vec<DateTime<Utc>>,
        /// Windows that were due but another tick (of any replica) had enqueued already.
        already_enqueued: Vec<DateTime<Utc>>,
        /// Why enqueueing stopped early, if a write failed.
        error: Option<String>,
    },
}

/// What one sweep pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepPass {
    /// Jobs whose lease had expired, pending again.
    pub requeued: usize,
    /// Jobs whose lease had expired on their last attempt, failed.
    pub failed: usize,
    /// Jobs expired because they missed their misfire grace.
    pub expired: usize,
    /// Registrations of dead workers removed.
    pub pruned_workers: usize,
}

/// A tick a test asked for could not be run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TickError {
    /// The source ticks on real intervals only.
    #[error(
        "this tick source is not driven by hand; build it with TickSource::manual() or \
         TickSource::observed() to ask for ticks"
    )]
    NotByHand,
    /// The loop stopped before it ran the tick asked for.
    #[error(
        "the {timer} loop stopped before it ran the tick asked for (the worker shut down); \
         ask while a worker started with this tick source runs"
    )]
    NoLoop {
        /// Which loop: "periodic" or "sweep".
        timer: &'static str,
    },
}

impl fmt::Debug for TickSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.hand {
            None => "intervals",
            Some(hand) if hand.intervals => "observed",
            Some(_) => "manual",
        };
        f.debug_tuple("TickSource").field(&kind).finish()
    }
}

impl TickSource {
    /// Real tokio intervals, nothing reported: the default.
    #[must_use]
    pub fn intervals() -> TickSource {
        TickSource::default()
    }

    /// The loops tick only when asked ([`TickSource::tick_periodic`], [`TickSource::sweep`]);
    /// every tick is reported.
    #[must_use]
    pub fn manual() -> TickSource {
        TickSource::by_hand(false)
    }

    /// Real intervals, every tick reported; a test may also ask for extra ticks.
    #[must_use]
    pub fn observed() -> TickSource {
        TickSource::by_hand(true)
    }

    fn by_hand(intervals: bool) -> TickSource {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        TickSource {
            hand: Some(Arc::new(Hand {
                intervals,
                periodic: Lane::new(),
                sweep: Lane::new(),
                events,
            })),
        }
    }

    /// Runs one periodic tick now and returns what it decided. Waits for a worker's periodic
    /// loop to take the request: callers bound the wait (the periodic loop runs only while a
    /// worker with periodic schedules runs).
    ///
    /// # Errors
    /// [`TickError::NotByHand`] for the default source, [`TickError::NoLoop`] when the loop
    /// stopped before answering.
    pub async fn tick_periodic(&self) -> Result<PeriodicTick, TickError> {
        self.ask(|hand| &hand.periodic, "periodic").await
    }

    /// Runs one sweep pass now and returns what it did.
    ///
    /// # Errors
    /// As [`TickSource::tick_periodic`].
    pub async fn sweep(&self) -> Result<SweepPass, TickError> {
        self.ask(|hand| &hand.sweep, "sweep").await
    }

    /// Every report from now on (`None` for the default source, which reports nothing).
    #[must_use]
    pub fn subscribe(&self) -> Option<broadcast::Receiver<TickEvent>> {
        self.hand.as_ref().map(|hand| hand.events.subscribe())
    }

    async fn ask<R>(
        &self,
        lane: impl FnOnce(&Hand) -> &Lane<R>,
        timer: &'static str,
    ) -> Result<R, TickError> {
        let hand = self.hand.as_ref().ok_or(TickError::NotByHand)?;
        let (reply, report) = oneshot::channel();
        lane(hand)
            .requests
            .send(reply)
            .map_err(|_| TickError::NoLoop { timer })?;
        report.await.map_err(|_| TickError::NoLoop { timer })
    }

    /// Reports `event` to subscribers (nothing for the default source).
    pub(crate) fn publish(&self, event: TickEvent) {
        if let Some(hand) = &self.hand {
            // No subscriber is not an error: nobody is watching.
            let _ = hand.events.send(event);
        }
    }

    /// The timer of one loop, ticking every `period` unless driven by hand only.
    pub(crate) async fn timer<R: Report>(&self, period: Duration) -> Timer<R> {
        let interval = match &self.hand {
            Some(hand) if !hand.intervals => None,
            _ => {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                Some(interval)
            }
        };
        let requests = match &self.hand {
            // One loop at a time takes a lane's requests: a restarted worker takes it over
            // once the stopped one let go.
            Some(hand) => Some(Arc::clone(&R::lane(hand).receiver).lock_owned().await),
            None => None,
        };
        Timer {
            interval,
            requests,
            source: self.clone(),
        }
    }
}

/// A loop's report: which lane asks for it and how subscribers see it.
pub(crate) trait Report: Clone + Send + 'static {
    /// The lane whose requests this report answers.
    fn lane(hand: &Hand) -> &Lane<Self>;
    /// The report as an event.
    fn event(self) -> TickEvent;
}

impl Report for PeriodicTick {
    fn lane(hand: &Hand) -> &Lane<Self> {
        &hand.periodic
    }
    fn event(self) -> TickEvent {
        TickEvent::Periodic(self)
    }
}

impl Report for SweepPass {
    fn lane(hand: &Hand) -> &Lane<Self> {
        &hand.sweep
    }
    fn event(self) -> TickEvent {
        TickEvent::Sweep(self)
    }
}

/// The ticks of one loop: its interval, the requests of a hand, or both.
pub(crate) struct Timer<R> {
    interval: Option<tokio::time::Interval>,
    requests: Option<OwnedMutexGuard<mpsc::UnboundedReceiver<oneshot::Sender<R>>>>,
    source: TickSource,
}

impl<R> Drop for Timer<R> {
    /// Answers the requests the stopped loop will not run ([`TickError::NoLoop`]); later ones
    /// wait for the next loop to take the lane.
    fn drop(&mut self) {
        if let Some(requests) = self.requests.as_mut() {
            while let Ok(reply) = requests.try_recv() {
                drop(reply);
            }
        }
    }
}

/// One tick: who asked for it, if a hand did.
pub(crate) struct Tick<R> {
    reply: Option<oneshot::Sender<R>>,
}

impl<R: Report> Timer<R> {
    /// Waits for the next tick (cancel-safe: a tick not yet taken stays queued).
    pub(crate) async fn next(&mut self) -> Tick<R> {
        let interval = async {
            match self.interval.as_mut() {
                Some(interval) => {
                    interval.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        let request = async {
            match self.requests.as_mut() {
                Some(requests) => requests.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interval => Tick { reply: None },
            Some(reply) = request => Tick { reply: Some(reply) },
        }
    }

    /// Reports a finished tick to whoever asked for it and to subscribers.
    pub(crate) fn finished(&self, tick: Tick<R>, report: R) {
        if let Some(reply) = tick.reply {
            // The asker may have given up waiting: nothing to tell then.
            let _ = reply.send(report.clone());
        }
        self.source.publish(report.event());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_default_source_cannot_be_driven_by_hand() {
        let source = TickSource::default();
        assert_eq!(source.sweep().await, Err(TickError::NotByHand));
        assert!(source.subscribe().is_none());
    }

    #[tokio::test]
    async fn a_manual_tick_is_run_by_the_loop_and_reported_to_asker_and_subscribers() {
        let source = TickSource::manual();
        let mut events = source.subscribe().expect("a manual source reports");
        let mut timer = source.timer::<SweepPass>(Duration::from_millis(1)).await;
        let asker = tokio::spawn({
            let source = source.clone();
            async move { source.sweep().await }
        });
        let tick = timer.next().await;
        assert!(tick.reply.is_some(), "a manual timer ticks only when asked");
        let pass = SweepPass {
            expired: 2,
            ..SweepPass::default()
        };
        timer.finished(tick, pass);
        assert_eq!(asker.await.expect("joins"), Ok(pass));
        assert_eq!(events.recv().await, Ok(TickEvent::Sweep(pass)));
    }

    #[tokio::test]
    async fn a_manual_timer_does_not_tick_on_its_interval() {
        let source = TickSource::manual();
        let mut timer = source.timer::<SweepPass>(Duration::from_millis(1)).await;
        let ticked = tokio::time::timeout(Duration::from_millis(50), timer.next()).await;
        assert!(ticked.is_err(), "no tick without a request");
    }

    #[tokio::test]
    async fn an_observed_timer_ticks_on_its_interval() {
        let source = TickSource::observed();
        let mut timer = source.timer::<PeriodicTick>(Duration::from_millis(1)).await;
        let tick = timer.next().await;
        assert!(tick.reply.is_none(), "an interval tick");
    }

    #[tokio::test]
    async fn a_request_the_stopped_loop_left_fails_with_no_loop() {
        let source = TickSource::manual();
        let timer = source.timer::<SweepPass>(Duration::from_millis(1)).await;
        let asker = tokio::spawn({
            let source = source.clone();
            async move { source.sweep().await }
        });
        // The test runtime has one thread: the asker runs (and queues its request) here.
        tokio::task::yield_now().await;
        drop(timer);
        let answer = tokio::time::timeout(Duration::from_secs(5), asker)
            .await
            .expect("the request is answered when the loop stops")
            .expect("joins");
        assert_eq!(answer, Err(TickError::NoLoop { timer: "sweep" }));
    }
}
