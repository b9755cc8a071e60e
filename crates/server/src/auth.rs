//! API keys with roles, stored hashed in `keys.json`, and the per-key rate limit.
//!
//! A key reads `clk_<id>_<secret>`; only its id, role, scope and the SHA-256 of the whole key
//! are stored, so a leaked key file grants nothing. Keys are shown once, at creation.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use model::{ActorId, MerchantId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including onboarding merchants, credit policy and payouts.
    Admin,
    /// The platform's app backend: users, payments, refunds, transfers, top-ups, repayments.
    Platform,
    /// A merchant gateway: payments, holds and refunds for its own merchant id only.
    Merchant,
    /// Read-only: accounts, history, metrics.
    Analyst,
}

impl Role {
    /// Parses `admin`, `platform`, `merchant` or `analyst`.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "platform" => Some(Role::Platform),
            "merchant" => Some(Role::Merchant),
            "analyst" => Some(Role::Analyst),
            _ => None,
        }
    }

    /// The role's name, as [`Role::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Platform => "platform",
            Role::Merchant => "merchant",
            Role::Analyst => "analyst",
        }
    }
}

/// A stored key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Public identifier (appears in logs).
    pub id: String,
    /// The role.
    pub role: Role,
    /// For merchant keys, the one merchant it may act for.
    pub merchant_id: Option<u64>,
    /// Hex SHA-256 of the full key.
    pub sha256: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Revoked keys stay listed and authenticate nothing.
    pub revoked: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<KeyRecord>,
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file is not valid JSON of the expected shape.
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
}

fn hash_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, KeyError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| KeyError::Invalid(format!("no randomness available: {error}")))?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn read_file(path: &Path) -> Result<KeyFile, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|error| KeyError::Malformed { path: path.to_owned(), reason: error.to_string() }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
        Err(source) => Err(KeyError::Io { path: path.to_owned(), source }),
    }
}

/// Writes the key file atomically and durably, owner-only, as the journal writes its files.
fn write_file(path: &Path, file: &KeyFile) -> Result<(), KeyError> {
    use journal::Storage;
    let io = |source| KeyError::Io { path: path.to_owned(), source };
    let storage = journal::FileStorage::default();
    if let Some(parent) = path.parent() {
        storage.create_dir_all(parent).map_err(io)?;
    }
    let bytes = serde_json::to_vec_pretty(file).expect("key records serialize");
    journal::write_atomically(&storage, path, &[&bytes]).map_err(io)
}

/// Creates a key and returns it (shown once) with its stored record.
pub fn create_key(path: &Path, role: Role, merchant_id: Option<u64>) -> Result<(String, KeyRecord), KeyError> {
    if (role == Role::Merchant) != merchant_id.is_some() {
        return Err(KeyError::Invalid("a merchant key needs --merchant-id, and only a merchant key takes one".into()));
    }
    let mut file = read_file(path)?;
    // Eight hex digits, never all zeros: the journal records the id as a number, 0 being the server.
    let mut id = random_hex(4)?;
    while actor_of(&id) == ActorId::SERVER {
        id = random_hex(4)?;
    }
    let key = format!("clk_{id}_{}", random_hex(24)?);
    let created_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64);
    let record = KeyRecord { id, role, merchant_id, sha256: hash_hex(&key), created_at_ms, revoked: false };
    file.keys.push(record.clone());
    write_file(path, &file)?;
    Ok((key, record))
}

/// Lists stored keys.
pub fn list_keys(path: &Path) -> Result<Vec<KeyRecord>, KeyError> {
    Ok(read_file(path)?.keys)
}

/// Revokes a key by id.
pub fn revoke_key(path: &Path, id: &str) -> Result<(), KeyError> {
    let mut file = read_file(path)?;
    let record = file
        .keys
        .iter_mut()
        .find(|record| record.id == id)
        .ok_or_else(|| KeyError::Invalid(format!("no key with id {id}")))?;
    record.revoked = true;
    write_file(path, &file)
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The key's public id.
    pub key_id: String,
    /// Its role.
    pub role: Role,
    /// For merchant keys, the merchant it acts for.
    pub merchant: Option<MerchantId>,
    /// The key's id as the journal records it with every command the key sends.
    pub actor: ActorId,
}

/// The journal's form of a key id (eight hex digits); [`ActorId::SERVER`] for an id that is not.
pub fn actor_of(key_id: &str) -> ActorId {
    u32::from_str_radix(key_id, 16).ok().filter(|id| *id != 0).map_or(ActorId::SERVER, ActorId)
}

/// The key id of an actor as the API shows it; `None` for the server itself.
pub fn key_id_of(actor: ActorId) -> Option<String> {
    (actor != ActorId::SERVER).then(|| format!("{:08x}", actor.0))
}

/// Failed authentications allowed per client address by default: this many a second, bursts of
/// twice it.
pub const FAILURES_PER_SECOND: f64 = 5.0;
/// Client addresses tracked at once, by the failure limiter and by the blocked list each; past
/// it those whose state no longer matters are dropped, and then all.
const FAILURE_ADDRESSES_MAX: usize = 65_536;

/// A keyed GCRA limiter (governor's): `rate` a second, bursts of two seconds' worth.
type Limiter<K> = DefaultKeyedRateLimiter<K>;

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: f64) -> Limiter<K> {
    // The callers' rates are positive and finite (clap checks them); a rate past 10^9 a second
    // rounds to one request a nanosecond.
    let period = Duration::from_secs_f64(1.0 / per_second).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new((per_second * 2.0).ceil().clamp(1.0, f64::from(u32::MAX)) as u32)
        .expect("clamped to at least one");
    let quota = Quota::with_period(period).expect("period is at least a nanosecond").allow_burst(burst);
    RateLimiter::keyed(quota)
}

/// Whole seconds to wait, at least one, for a limiter's refusal.
fn retry_after(not_until: &NotUntil<Instant>) -> u64 {
    not_until.wait_time_from(DefaultClock::default().now()).as_secs_f64().ceil().max(1.0) as u64
}

/// The live key set, reloaded when the file changes, with a rate limit per key and one per
/// client address for failed attempts.
pub struct KeyRing {
    path: PathBuf,
    keys: RwLock<(Option<SystemTime>, HashMap<String, KeyRecord>)>,
    /// Each key's rate, by the key's actor id (its id as a number: one per key, no allocation).
    requests: Limiter<ActorId>,
    failures_per_second: f64,
    failures: RwLock<Limiter<IpAddr>>,
    /// Addresses the failure limiter refused, until when: a client past its failures is refused
    /// before its key is looked at, which governor's limiter cannot tell without charging it.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

/// Why a request was not authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No key, or not a valid one.
    Unauthenticated,
    /// The key exceeded its rate; retry after this many seconds.
    RateLimited(u64),
    /// This client failed to authenticate too often; retry after this many seconds.
    FailuresThrottled(u64),
}

/// Compares two digests in time that depends on their length only, not on where they differ.
fn digests_equal(stored: &str, presented: &str) -> bool {
    let (stored, presented) = (stored.as_bytes(), presented.as_bytes());
    stored.len() == presented.len()
        && std::hint::black_box(stored.iter().zip(presented).fold(0u8, |difference, (a, b)| difference | (a ^ b))) == 0
}

impl KeyRing {
    /// Loads the key file; `requests_per_second` is each key's sustained rate (burst: 2 s worth).
    pub fn load(path: PathBuf, requests_per_second: f64) -> Result<KeyRing, KeyError> {
        let ring = KeyRing {
            path,
            keys: RwLock::default(),
            requests: limiter(requests_per_second),
            failures_per_second: FAILURES_PER_SECOND,
            failures: RwLock::new(limiter(FAILURES_PER_SECOND)),
            blocked: Mutex::default(),
        };
        ring.reload()?;
        Ok(ring)
    }

    /// Sets how many failed authentications a second each client address may make (bursts of
    /// twice it) before it is refused with 429 for a while, even with a good key.
    pub fn with_failure_rate(mut self, failures_per_second: f64) -> KeyRing {
        assert!(failures_per_second > 0.0, "checked by the caller");
        self.failures_per_second = failures_per_second;
        self.failures = RwLock::new(limiter(failures_per_second));
        self
    }

    /// Re-reads the key file if it changed since the last load.
    pub fn reload(&self) -> Result<(), KeyError> {
        let modified = std::fs::metadata(&self.path).and_then(|metadata| metadata.modified()).ok();
        if self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).0 == modified && modified.is_some() {
            return Ok(());
        }
        let file = read_file(&self.path)?;
        let keys =
            file.keys.into_iter().filter(|record| !record.revoked).map(|record| (record.id.clone(), record)).collect();
        *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = (modified, keys);
        Ok(())
    }

    /// Whether no usable key exists (every call will be refused).
    pub fn is_empty(&self) -> bool {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).1.is_empty()
    }

    /// Authenticates a presented key from `client` and charges its rate limit. A client that
    /// failed too often is refused before its key is looked at. An unknown key id makes the ring
    /// re-read the key file first, so a key created while the server runs works at once.
    pub fn authenticate(&self, presented: &str, client: IpAddr) -> Result<Principal, Denied> {
        self.check_failures(client)?;
        let principal = match self.lookup(presented) {
            Some(principal) => Some(principal),
            None if self.reload().is_ok() => self.lookup(presented),
            None => None,
        };
        let Some(principal) = principal else {
            // No key at all guesses nothing; a wrong key is what is throttled.
            if !presented.is_empty() {
                self.charge_failure(client);
            }
            return Err(Denied::Unauthenticated);
        };
        self.charge(principal.actor)?;
        Ok(principal)
    }

    /// Re-checks a principal a console session holds: its key must still be live (a revoked
    /// key ends its sessions at the next key-file reload) and within its rate.
    pub fn recheck(&self, principal: &Principal) -> Result<(), Denied> {
        let live = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).1.contains_key(&principal.key_id);
        if !live {
            return Err(Denied::Unauthenticated);
        }
        self.charge(principal.actor)
    }

    fn lookup(&self, presented: &str) -> Option<Principal> {
        let id = presented.strip_prefix("clk_").and_then(|rest| rest.split('_').next())?;
        let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = keys.1.get(id).filter(|record| digests_equal(&record.sha256, &hash_hex(presented)))?;
        Some(Principal {
            key_id: record.id.clone(),
            role: record.role,
            merchant: record.merchant_id.map(MerchantId),
            actor: actor_of(&record.id),
        })
    }

    fn charge(&self, actor: ActorId) -> Result<(), Denied> {
        self.requests.check_key(&actor).map_err(|not_until| Denied::RateLimited(retry_after(&not_until)))
    }

    /// Refuses a client the failure limiter has blocked, without charging it.
    fn check_failures(&self, client: IpAddr) -> Result<(), Denied> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(until) = blocked.get(&client).copied() else { return Ok(()) };
        let now = Instant::now();
        if until <= now {
            blocked.remove(&client);
            return Ok(());
        }
        Err(Denied::FailuresThrottled((until - now).as_secs_f64().ceil().max(1.0) as u64))
    }

    /// Counts a failed attempt; past the burst the client is blocked until the limiter would let
    /// it fail again.
    fn charge_failure(&self, client: IpAddr) {
        let refused = {
            let failures = self.failures.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            failures.check_key(&client).err().map(|not_until| not_until.earliest_possible())
        };
        if let Some(until) = refused {
            let mut blocked = self.blocked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if blocked.len() >= FAILURE_ADDRESSES_MAX && !blocked.contains_key(&client) {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                if blocked.len() >= FAILURE_ADDRESSES_MAX {
                    blocked.clear();
                }
            }
            blocked.insert(client, until);
        }
        let crowded = self.failures.read().unwrap_or_else(|poisoned| poisoned.into_inner()).len();
        if crowded >= FAILURE_ADDRESSES_MAX {
            // Addresses whose limit has refilled carry no information: forget them first.
            let mut failures = self.failures.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            failures.retain_recent();
            failures.shrink_to_fit();
            if failures.len() >= FAILURE_ADDRESSES_MAX {
                *failures = limiter(self.failures_per_second);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn keys_authenticate_only_when_whole_and_unrevoked() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keys.json");
        let (key, record) = create_key(&path, Role::Merchant, Some(7)).expect("created");
        assert!(!std::fs::read_to_string(&path).expect("readable").contains(&key), "the key itself is never stored");
        let ring = KeyRing::load(path.clone(), 1_000.0).expect("loads");
        let principal = ring.authenticate(&key, CLIENT).expect("valid key");
        assert_eq!((principal.role, principal.merchant), (Role::Merchant, Some(MerchantId(7))));
        assert_eq!(ring.authenticate(&format!("{key}x"), CLIENT), Err(Denied::Unauthenticated));
        assert_eq!(ring.authenticate("clk_", CLIENT), Err(Denied::Unauthenticated));
        revoke_key(&path, &record.id).expect("revoked");
        let ring = KeyRing::load(path.clone(), 1_000.0).expect("loads");
        assert_eq!(ring.authenticate(&key, CLIENT), Err(Denied::Unauthenticated));
        assert!(create_key(&path, Role::Merchant, None).is_err());
        assert!(create_key(&path, Role::Admin, Some(1)).is_err());
    }

    #[test]
    fn rate_limit_refuses_past_the_burst() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keys.json");
        let (key, _) = create_key(&path, Role::Analyst, None).expect("created");
        let ring = KeyRing::load(path, 5.0).expect("loads");
        let results: Vec<_> = (0..20).map(|_| ring.authenticate(&key, CLIENT).is_ok()).collect();
        assert!(results[..10].iter().all(|ok| *ok), "a burst of two seconds' worth passes");
        assert!(results.contains(&false), "past the burst, requests are refused");
    }

    /// Bug: failed authentication was never throttled, so a client could try keys at full speed.
    #[test]
    fn a_client_failing_to_authenticate_is_throttled_and_others_are_not() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keys.json");
        let (key, _) = create_key(&path, Role::Analyst, None).expect("created");
        let ring = KeyRing::load(path, 1_000.0).expect("loads");
        let attacker = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));
        let results: Vec<_> = (0..40).map(|_| ring.authenticate("clk_nope_secret", attacker)).collect();
        assert!(results[..10].iter().all(|result| *result == Err(Denied::Unauthenticated)), "a burst of failures");
        assert!(matches!(results.last(), Some(Err(Denied::FailuresThrottled(seconds))) if *seconds >= 1));
        assert!(
            matches!(ring.authenticate(&key, attacker), Err(Denied::FailuresThrottled(_))),
            "even a good key waits"
        );
        assert!(ring.authenticate(&key, CLIENT).is_ok(), "another client is not affected");
    }

    #[test]
    fn digests_compare_equal_only_when_identical() {
        assert!(digests_equal("ab12", "ab12"));
        assert!(!digests_equal("ab12", "ab13"));
        assert!(!digests_equal("ab12", "ab1"));
    }

    /// Bug: a key created while the server ran got 401 for about two seconds.
    #[test]
    fn a_key_created_after_loading_works_at_once() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("keys.json");
        create_key(&path, Role::Analyst, None).expect("created");
        let ring = KeyRing::load(path.clone(), 1_000.0).expect("loads");
        let (late, _) = create_key(&path, Role::Platform, None).expect("created");
        assert_eq!(ring.authenticate(&late, CLIENT).map(|principal| principal.role), Ok(Role::Platform));
    }
}
