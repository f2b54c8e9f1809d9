//! `[account]`: the seed data of the simulated account.

use serde::{Deserialize, Serialize};

/// Seed data the simulator starts (and resets) with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// API keys accepted as `Authorization: Bearer id:secret`.
    pub api_keys: Vec<ApiKey>,
    /// Agents; those with `owned = false` belong to another account.
    pub agents: Vec<AgentSeed>,
    /// Voice ids accepted by `POST /v1/agents`.
    pub voices: Vec<String>,
    /// Twilio accounts that `POST /v1/phone-numbers` can import from.
    pub twilio_accounts: Vec<TwilioAccount>,
    /// US (`+1`) senders registered for A2P 10DLC; other `+1` senders cannot send SMS.
    pub a2p_registered: Vec<String>,
    /// Recipients who sent STOP: calls and messages to them fail `recipient_unsubscribed`.
    pub opted_out: Vec<String>,
    /// Destinations Twilio refuses to call (`outbound_failed`, nothing created).
    pub twilio_rejects: Vec<TwilioReject>,
}

/// One API key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// The public half (`key_id`).
    pub id: String,
    /// The secret half.
    pub secret: String,
}

/// One seeded agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentSeed {
    /// Agent id, e.g. `agent_demo`.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Voice id.
    #[serde(default = "default_voice")]
    pub voice_id: String,
    /// Numbers already imported onto this agent.
    #[serde(default)]
    pub phone_numbers: Vec<String>,
    /// False for an agent of another account (`agent_not_owned`).
    #[serde(default = "yes")]
    pub owned: bool,
}

/// One Twilio account numbers can be imported from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TwilioAccount {
    /// Account SID, `AC` + 32 hex characters.
    pub sid: String,
    /// Auth token that must accompany the SID.
    pub auth_token: String,
    /// E.164 numbers in the account.
    #[serde(default)]
    pub numbers: Vec<String>,
}

/// A rule for destinations Twilio rejects; a rule matches when every given field matches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TwilioReject {
    /// Exact number.
    #[serde(default)]
    pub number: Option<String>,
    /// Number prefix, e.g. `+1900`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Number suffix, e.g. `0000`.
    #[serde(default)]
    pub suffix: Option<String>,
    /// Twilio error code reported in `details.twilio_error`.
    pub twilio_error: u32,
}

impl TwilioReject {
    /// Whether this rule rejects `number`; a rule with no field set matches nothing.
    pub fn matches(&self, number: &str) -> bool {
        if self.number.is_none() && self.prefix.is_none() && self.suffix.is_none() {
            return false;
        }
        self.number.as_deref().is_none_or(|n| n == number)
            && self.prefix.as_deref().is_none_or(|p| number.starts_with(p))
            && self.suffix.as_deref().is_none_or(|s| number.ends_with(s))
    }
}

fn default_voice() -> String {
    "alloy".to_owned()
}

fn yes() -> bool {
    true
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            api_keys: vec![ApiKey {
                id: "demo_key".to_owned(),
                secret: "demo_secret".to_owned(),
            }],
            agents: vec![
                AgentSeed {
                    id: "agent_demo".to_owned(),
                    name: "Demo agent".to_owned(),
                    voice_id: "alloy".to_owned(),
                    phone_numbers: strings(&["+14155550100"]),
                    owned: true,
                },
                AgentSeed {
                    id: "agent_nophone".to_owned(),
                    name: "Agent without a number".to_owned(),
                    voice_id: "alloy".to_owned(),
                    phone_numbers: Vec::new(),
                    owned: true,
                },
                AgentSeed {
                    id: "agent_foreign".to_owned(),
                    name: "Another account's agent".to_owned(),
                    voice_id: "alloy".to_owned(),
                    phone_numbers: Vec::new(),
                    owned: false,
                },
            ],
            voices: strings(&["alloy", "echo", "fable", "onyx", "nova", "shimmer"]),
            twilio_accounts: vec![TwilioAccount {
                sid: "AC0123456789abcdef0123456789abcdef".to_owned(),
                auth_token: "twilio_demo_token".to_owned(),
                numbers: strings(&[
                    "+14155550100",
                    "+14155550101",
                    "+14155550102",
                    "+442071838750",
                ]),
            }],
            a2p_registered: strings(&["+14155550100"]),
            opted_out: strings(&["+14155559999", "+14155559998", "+447700900999"]),
            twilio_rejects: vec![
                TwilioReject {
                    number: Some("+15005550001".to_owned()),
                    prefix: None,
                    suffix: None,
                    twilio_error: 21211,
                },
                TwilioReject {
                    number: None,
                    prefix: Some("+1900".to_owned()),
                    suffix: None,
                    twilio_error: 21215,
                },
            ],
        }
    }
}
