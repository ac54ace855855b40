//! The network model: a small seeded state machine that gives each message a verdict.
//!
//! Like turmoil's rules and str0m's netem, it knows nothing of what it carries: the world asks
//! [`NetModel::route`] about a message from one endpoint to another and gets back when (if ever)
//! each copy arrives. Reordering is not a knob; it falls out of independent random delays.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use rand::distributions::{Bernoulli, Distribution};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::id::{ClientId, NodeId};

/// Who is at either end of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// A registry node.
    Node(NodeId),
    /// A simulated client (service instance or poller).
    Client(ClientId),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Node(node) => write!(f, "node{node}"),
            Endpoint::Client(client) => write!(f, "client{client}"),
        }
    }
}

/// How messages are delayed, lost and duplicated when no rule blocks them.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// The least time a message takes.
    pub delay_min: Duration,
    /// The mean time a message takes (at least `delay_min`); the part above the minimum is
    /// exponentially distributed.
    pub delay_mean: Duration,
    /// Probability that a message also suffers a tail spike.
    pub tail_probability: f64,
    /// A tail spike adds a delay uniform in `[0, tail_max]`.
    pub tail_max: Duration,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a delivered message arrives twice (the copy has its own delay).
    pub duplicate: f64,
}

impl Default for NetConfig {
    /// A quiet LAN: 1 ms minimum, 2 ms mean, no loss, no duplication, no spikes.
    fn default() -> NetConfig {
        NetConfig {
            delay_min: Duration::from_millis(1),
            delay_mean: Duration::from_millis(2),
            tail_probability: 0.0,
            tail_max: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Random loss.
    Lost,
    /// A partition rule blocked it.
    Partitioned,
}

/// The verdicts on one message: one, or two when it is duplicated. A slice without a heap
/// allocation, since every message in the world gets one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdicts {
    verdicts: [Verdict; 2],
    len: usize,
}

impl Verdicts {
    fn one(verdict: Verdict) -> Verdicts {
        Verdicts {
            verdicts: [verdict; 2],
            len: 1,
        }
    }

    fn duplicate(&mut self, verdict: Verdict) {
        self.verdicts[1] = verdict;
        self.len = 2;
    }
}

impl std::ops::Deref for Verdicts {
    type Target = [Verdict];

    fn deref(&self) -> &[Verdict] {
        &self.verdicts[..self.len]
    }
}

impl<const N: usize> PartialEq<[Verdict; N]> for Verdicts {
    fn eq(&self, other: &[Verdict; N]) -> bool {
        **self == other[..]
    }
}

/// What happens to one copy of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It arrives `after` it was sent.
    Deliver {
        /// Time in flight.
        after: Duration,
    },
    /// It never arrives.
    Drop {
        /// Why.
        reason: DropReason,
    },
}

/// A partition rule; a message is blocked if any rule blocks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// No node in `a` can talk to any node in `b`, either way.
    Split {
        /// One side.
        a: BTreeSet<usize>,
        /// The other side.
        b: BTreeSet<usize>,
    },
    /// Messages from nodes in `from` to nodes in `to` are blocked; the other way works.
    OneWay {
        /// Senders that cannot reach `to`.
        from: BTreeSet<usize>,
        /// Receivers that cannot hear `from`.
        to: BTreeSet<usize>,
    },
    /// The node neither reaches nor hears any other node; clients still reach it.
    IsolateFromPeers(usize),
    /// No client reaches the node and it reaches no client; peers still do.
    IsolateFromClients(usize),
}

impl Rule {
    /// Whether this rule blocks a message from `from` to `to`.
    pub fn blocks(&self, from: Endpoint, to: Endpoint) -> bool {
        use Endpoint::{Client, Node};
        match (self, from, to) {
            (Rule::Split { a, b }, Node(NodeId(x)), Node(NodeId(y))) => {
                (a.contains(&x) && b.contains(&y)) || (b.contains(&x) && a.contains(&y))
            }
            (Rule::OneWay { from, to }, Node(NodeId(x)), Node(NodeId(y))) => {
                from.contains(&x) && to.contains(&y)
            }
            (Rule::IsolateFromPeers(n), Node(NodeId(x)), Node(NodeId(y))) => {
                x != y && (x == *n || y == *n)
            }
            (Rule::IsolateFromClients(n), Node(NodeId(x)), Client(_))
            | (Rule::IsolateFromClients(n), Client(_), Node(NodeId(x))) => x == *n,
            _ => false,
        }
    }
}

/// The seeded network: configuration, active partition rules and the random stream.
#[derive(Debug)]
pub(crate) struct NetModel {
    config: NetConfig,
    /// The config's randomness, prepared once per configuration.
    odds: Odds,
    rules: Vec<Rule>,
    rng: ChaCha8Rng,
}

/// A [`NetConfig`]'s randomness, prepared once per configuration.
#[derive(Clone, Copy, Debug)]
struct Odds {
    loss: Chance,
    duplicate: Chance,
    tail: Chance,
    /// The mean of a delay's exponential part, in nanoseconds.
    excess_mean_ns: f64,
}

impl Odds {
    fn of(config: &NetConfig) -> Odds {
        Odds {
            loss: Chance::of(config.loss),
            duplicate: Chance::of(config.duplicate),
            tail: Chance::of(config.tail_probability),
            excess_mean_ns: config
                .delay_mean
                .saturating_sub(config.delay_min)
                .as_nanos() as f64,
        }
    }
}

/// Whether something happens. Certain outcomes draw nothing: on a network without loss,
/// duplication or spikes a message costs one draw (its delay), and turning a knob on moves
/// the random stream only where the knob acts.
#[derive(Clone, Copy, Debug)]
enum Chance {
    Never,
    Always,
    Sometimes(Bernoulli),
}

impl Chance {
    /// A chance of `p`, clamped into `[0, 1]` (NaN counts as 0).
    fn of(p: f64) -> Chance {
        if p.is_nan() || p <= 0.0 {
            return Chance::Never;
        }
        if p >= 1.0 {
            return Chance::Always;
        }
        Bernoulli::new(p).map_or(Chance::Never, Chance::Sometimes)
    }

    fn happens(self, rng: &mut ChaCha8Rng) -> bool {
        match self {
            Chance::Never => false,
            Chance::Always => true,
            Chance::Sometimes(odds) => odds.sample(rng),
        }
    }
}

/// An exponential draw is capped at this many means, so one unlucky draw cannot stall a run.
const EXP_CAP_MEANS: f64 = 20.0;

impl NetModel {
    /// A network with `config`, no partitions, drawing from `rng`.
    pub(crate) fn new(config: NetConfig, rng: ChaCha8Rng) -> NetModel {
        NetModel {
            odds: Odds::of(&config),
            config,
            rules: Vec::new(),
            rng,
        }
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Replaces the configuration (e.g. a calmer network for the liveness phase).
    pub(crate) fn set_config(&mut self, config: NetConfig) {
        self.odds = Odds::of(&config);
        self.config = config;
    }

    /// Adds a partition rule.
    pub(crate) fn add_rule(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    /// The active rules, oldest first.
    #[cfg(test)]
    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Removes every partition rule.
    pub(crate) fn heal(&mut self) {
        self.rules.clear();
    }

    /// Whether some rule blocks `from` → `to`.
    pub(crate) fn is_blocked(&self, from: Endpoint, to: Endpoint) -> bool {
        self.rules.iter().any(|rule| rule.blocks(from, to))
    }

    /// Decides the fate of one message: one verdict, or two when it is duplicated.
    ///
    /// A blocked message draws no randomness, so adding a partition does not shift the
    /// verdicts of unrelated messages more than it must.
    pub(crate) fn route(&mut self, from: Endpoint, to: Endpoint) -> Verdicts {
        if self.is_blocked(from, to) {
            return Verdicts::one(Verdict::Drop {
                reason: DropReason::Partitioned,
            });
        }
        if self.odds.loss.happens(&mut self.rng) {
            return Verdicts::one(Verdict::Drop {
                reason: DropReason::Lost,
            });
        }
        let mut verdicts = Verdicts::one(Verdict::Deliver {
            after: self.delay(),
        });
        if self.odds.duplicate.happens(&mut self.rng) {
            verdicts.duplicate(Verdict::Deliver {
                after: self.delay(),
            });
        }
        verdicts
    }

    /// One delay: the minimum, plus an exponential part, plus sometimes a tail spike.
    fn delay(&mut self) -> Duration {
        let mut delay = self.config.delay_min;
        let mean = self.odds.excess_mean_ns;
        if mean > 0.0 {
            // `1 - u` is in (0, 1], so the logarithm is finite; the excess is finite and not
            // negative, so whole nanoseconds are a plain (truncating) conversion.
            let u: f64 = self.rng.gen();
            let excess = (-(1.0 - u).ln() * mean).min(mean * EXP_CAP_MEANS);
            delay += Duration::from_nanos(excess as u64);
        }
        if self.odds.tail.happens(&mut self.rng) {
            let spike = self
                .rng
                .gen_range(0..=self.config.tail_max.as_nanos() as u64);
            delay += Duration::from_nanos(spike);
        }
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn certain_outcomes_draw_nothing_and_uncertain_ones_do() {
        let fresh = || ChaCha8Rng::seed_from_u64(3);
        for (p, expected) in [
            (0.0, false),
            (-1.0, false),
            (f64::NAN, false),
            (1.0, true),
            (2.0, true),
        ] {
            let mut rng = fresh();
            assert_eq!(Chance::of(p).happens(&mut rng), expected, "p = {p}");
            assert_eq!(rng.gen::<u64>(), fresh().gen::<u64>(), "p = {p} drew");
        }
        let mut rng = fresh();
        Chance::of(0.5).happens(&mut rng);
        assert_ne!(
            rng.gen::<u64>(),
            fresh().gen::<u64>(),
            "p = 0.5 drew nothing"
        );
    }

    #[test]
    fn a_quiet_network_draws_one_number_per_message() {
        let mut net = model(NetConfig::default());
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..10 {
            net.route(node(0), node(1));
            rng.gen::<f64>();
        }
        assert_eq!(net.rng.gen::<u64>(), rng.gen::<u64>());
    }

    fn node(index: usize) -> Endpoint {
        Endpoint::Node(NodeId(index))
    }

    fn client(index: usize) -> Endpoint {
        Endpoint::Client(ClientId::Instance(index))
    }

    fn model(config: NetConfig) -> NetModel {
        NetModel::new(config, ChaCha8Rng::seed_from_u64(7))
    }

    fn set(nodes: &[usize]) -> BTreeSet<usize> {
        nodes.iter().copied().collect()
    }

    fn delivered(verdicts: &[Verdict]) -> bool {
        verdicts
            .iter()
            .any(|v| matches!(v, Verdict::Deliver { .. }))
    }

    #[test]
    fn a_quiet_network_delivers_everything_once_within_bounds() {
        let mut net = model(NetConfig::default());
        for _ in 0..1000 {
            let verdicts = net.route(node(0), node(1));
            assert_eq!(verdicts.len(), 1);
            let Verdict::Deliver { after } = verdicts[0] else {
                panic!("dropped on a quiet network: {verdicts:?}");
            };
            assert!(after >= Duration::from_millis(1));
            assert!(after <= Duration::from_millis(1 + 20));
        }
    }

    #[test]
    fn split_blocks_both_ways_between_sides_only() {
        let mut net = model(NetConfig::default());
        net.add_rule(Rule::Split {
            a: set(&[0, 1]),
            b: set(&[2]),
        });
        assert!(net.is_blocked(node(0), node(2)));
        assert!(net.is_blocked(node(2), node(1)));
        assert!(!net.is_blocked(node(0), node(1)));
        assert!(!net.is_blocked(client(0), node(2)));
        assert_eq!(
            net.route(node(2), node(0)),
            [Verdict::Drop {
                reason: DropReason::Partitioned
            }]
        );
    }

    #[test]
    fn one_way_blocks_a_to_b_only() {
        let mut net = model(NetConfig::default());
        net.add_rule(Rule::OneWay {
            from: set(&[0]),
            to: set(&[1]),
        });
        assert!(net.is_blocked(node(0), node(1)));
        assert!(!net.is_blocked(node(1), node(0)));
        assert!(!net.is_blocked(node(0), node(2)));
        assert!(delivered(&net.route(node(1), node(0))));
    }

    #[test]
    fn isolating_from_peers_leaves_clients_connected() {
        let mut net = model(NetConfig::default());
        net.add_rule(Rule::IsolateFromPeers(1));
        assert!(net.is_blocked(node(1), node(0)));
        assert!(net.is_blocked(node(2), node(1)));
        assert!(!net.is_blocked(node(0), node(2)));
        assert!(!net.is_blocked(node(1), node(1)));
        assert!(!net.is_blocked(client(3), node(1)));
        assert!(!net.is_blocked(node(1), client(3)));
    }

    #[test]
    fn isolating_from_clients_leaves_peers_connected() {
        let mut net = model(NetConfig::default());
        net.add_rule(Rule::IsolateFromClients(1));
        assert!(net.is_blocked(client(0), node(1)));
        assert!(net.is_blocked(node(1), client(0)));
        assert!(!net.is_blocked(client(0), node(0)));
        assert!(!net.is_blocked(node(1), node(0)));
    }

    #[test]
    fn heal_removes_every_rule() {
        let mut net = model(NetConfig::default());
        net.add_rule(Rule::IsolateFromPeers(0));
        net.add_rule(Rule::IsolateFromClients(0));
        assert_eq!(net.rules().len(), 2);
        net.heal();
        assert!(net.rules().is_empty());
        assert!(!net.is_blocked(node(0), node(1)));
        assert!(!net.is_blocked(client(0), node(0)));
    }

    #[test]
    fn loss_rate_is_close_to_configured() {
        let mut net = model(NetConfig {
            loss: 0.3,
            ..NetConfig::default()
        });
        let lost = (0..10_000)
            .filter(|_| !delivered(&net.route(node(0), node(1))))
            .count();
        assert!((2_700..=3_300).contains(&lost), "lost {lost} of 10000");
    }

    #[test]
    fn duplication_rate_is_close_to_configured() {
        let mut net = model(NetConfig {
            duplicate: 0.1,
            ..NetConfig::default()
        });
        let twice = (0..10_000)
            .filter(|_| net.route(client(0), node(1)).len() == 2)
            .count();
        assert!(
            (700..=1_300).contains(&twice),
            "duplicated {twice} of 10000"
        );
    }

    #[test]
    fn mean_delay_is_close_to_configured_and_messages_reorder() {
        let mut net = model(NetConfig {
            delay_min: Duration::from_millis(5),
            delay_mean: Duration::from_millis(20),
            ..NetConfig::default()
        });
        let delays: Vec<Duration> = (0..10_000)
            .map(|_| match net.route(node(0), node(1))[0] {
                Verdict::Deliver { after } => after,
                Verdict::Drop { .. } => panic!("no loss configured"),
            })
            .collect();
        assert!(delays.iter().all(|d| *d >= Duration::from_millis(5)));
        let mean_ms = delays.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / 1e4;
        assert!((18.5..=21.5).contains(&mean_ms), "mean {mean_ms} ms");
        // Sent 1 ms apart, message i+1 sometimes overtakes message i.
        let overtaken = delays
            .windows(2)
            .filter(|w| w[1] + Duration::from_millis(1) < w[0])
            .count();
        assert!(overtaken > 100, "only {overtaken} reorderings");
    }

    #[test]
    fn tail_spikes_happen_at_the_configured_rate() {
        let mut net = model(NetConfig {
            delay_min: Duration::from_millis(1),
            delay_mean: Duration::from_millis(1),
            tail_probability: 0.05,
            tail_max: Duration::from_secs(2),
            ..NetConfig::default()
        });
        let slow = (0..10_000)
            .filter(|_| match net.route(node(0), node(1))[0] {
                Verdict::Deliver { after } => after > Duration::from_millis(2),
                Verdict::Drop { .. } => false,
            })
            .count();
        // 5% spike, and a spike of at most 1 ms is invisible with probability 0.0005.
        assert!((350..=650).contains(&slow), "slow {slow} of 10000");
    }

    #[test]
    fn same_seed_same_verdicts() {
        let config = NetConfig {
            loss: 0.2,
            duplicate: 0.2,
            tail_probability: 0.1,
            tail_max: Duration::from_millis(500),
            ..NetConfig::default()
        };
        let run = |seed: u64| {
            let mut net = NetModel::new(config.clone(), ChaCha8Rng::seed_from_u64(seed));
            (0..500)
                .map(|i| net.route(node(i % 3), client(i % 5)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }
}
