//! Strikes, after the answer: a decision that counts (see
//! [`screening::strikes`]) adds one to the sender's counter in the shared
//! store; the strike that reaches a penalty's threshold mutes the sender
//! (in the group for a group message, for one-to-one messages everywhere
//! for a one-to-one one) and tells them why and for how long. IM lifts the
//! mute when its time ends.
//!
//! A message is struck once however often its callback arrives: the strike
//! is claimed by the message's key first.

use connector::im::ImSettings;
use connector::state::{Claim, Records};
use screening::policy::Policy;
use screening::strikes::{Penalty, Strikes};
use tim::rest::SendMsg;

/// Where the struck message was sent.
pub enum Place {
    /// A group.
    Group(String),
    /// One-to-one.
    C2c,
}

/// One strike to count.
pub struct Strike {
    /// The message's key (claimed, so duplicates strike once).
    pub key: String,
    /// Its sender.
    pub sender: String,
    /// Where it was sent.
    pub place: Place,
    /// The scope whose strikes apply.
    pub scope: String,
    /// Those strikes.
    pub strikes: Strikes,
}

impl Strike {
    /// The strike for a decision under `policy`, if it is one.
    pub fn of(
        policy: &Policy,
        key: &str,
        sender: &str,
        place: Place,
        outcome: screening::policy::Outcome,
    ) -> Option<Self> {
        (policy.strikes.counts(outcome) && !sender.is_empty()).then(|| Strike {
            key: key.to_string(),
            sender: sender.to_string(),
            place,
            scope: policy.scope_name().to_string(),
            strikes: policy.strikes.clone(),
        })
    }

    /// Counts it, and mutes the sender when it reaches a penalty.
    pub async fn record(self, now: u64) {
        match self.count(now) {
            Ok(Some((strikes, penalty))) => self.mute(strikes, &penalty).await,
            Ok(None) => {}
            Err(e) => eprintln!("moderator: strike for {}: {e}", self.key),
        }
    }

    /// The sender's strikes with this one, and the penalty they bring, or
    /// `None` when this message was already struck.
    fn count(&self, now: u64) -> Result<Option<(i64, Penalty)>, String> {
        let records = Records::open()?;
        // Expired counters and claims go at most hourly, after the answer.
        if let Err(e) = records.sweep_claims(now, 3600) {
            eprintln!("moderator: {e}");
        }
        let window = self.strikes.window(now);
        // The claim lives as long as the window: a copy arriving later
        // cannot strike again while the first strike still counts.
        if records.claim(&format!("mod:struck:{}", self.key), window.current.1)? == Claim::Taken {
            return Ok(None);
        }
        let counter = |bucket: u64| format!("mod:strikes:{}:{}:{bucket}", self.scope, self.sender);
        let mut total = records.count(&counter(window.current.0), window.current.1)?;
        for (bucket, until) in &window.earlier {
            total += records.tally(&counter(*bucket), *until)?;
        }
        Ok(self.strikes.penalty_at(total).cloned().map(|p| (total, p)))
    }

    async fn mute(&self, strikes: i64, penalty: &Penalty) {
        let im = match ImSettings::load() {
            Ok(im) => im,
            Err(e) => {
                eprintln!("moderator: cannot mute {}: {e}", self.sender);
                return;
            }
        };
        let client = im.client();
        let notice = self.strikes.notice(penalty, strikes);
        let result = match &self.place {
            Place::Group(group_id) => {
                match client
                    .forbid_send_msg(
                        group_id,
                        std::slice::from_ref(&self.sender),
                        penalty.mute_secs,
                    )
                    .await
                {
                    Ok(()) => client
                        .send_group_system_notification(
                            group_id,
                            &notice,
                            std::slice::from_ref(&self.sender),
                        )
                        .await
                        .map_err(|e| format!("muted, but the notice failed: {e}")),
                    Err(e) => Err(e.to_string()),
                }
            }
            Place::C2c => match client
                .set_no_speaking(&self.sender, Some(penalty.mute_secs), None)
                .await
            {
                Ok(()) => client
                    .send_msg(&SendMsg::service_text(None, &self.sender, notice.clone()))
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("muted, but the notice failed: {e}")),
                Err(e) => Err(e.to_string()),
            },
        };
        let mut line = serde_json::json!({
            "moderation": "mute",
            "key": self.key,
            "scope": self.scope,
            "sender": self.sender,
            "strikes": strikes,
            "mute_secs": penalty.mute_secs,
        });
        if let Err(e) = result {
            line["error"] = e.into();
        }
        println!("{line}");
    }
}
