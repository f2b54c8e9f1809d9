//! The documented error `type`s and `code`s, with room for the ones the API adds later.

use std::fmt;

macro_rules! name_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value the API sent that this version does not know (kept verbatim).
            Unknown(String),
        }

        impl $name {
            /// Every documented value, in the contract's order.
            pub const DOCUMENTED: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// Parses a wire name; an undocumented name becomes `Unknown` (never an error).
            pub fn from_name(s: &str) -> Self {
                match s {
                    $( $text => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unknown(s) => s,
                }
            }

            /// The wire name of a documented value, `None` for `Unknown` (metrics labels use
            /// this so that an unknown name never becomes a label value).
            pub fn documented_name(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($text), )+
                    Self::Unknown(_) => None,
                }
            }

            /// Whether this value is not one the contract documents.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }

            /// Position in [`Self::DOCUMENTED`], `None` for `Unknown`.
            pub fn index(&self) -> Option<usize> {
                let mut i = 0usize;
                $(
                    if matches!(self, Self::$variant) { return Some(i); }
                    i += 1;
                )+
                let _ = i;
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

name_enum! {
    /// The broad category of an error (`error.type`).
    ErrorType {
        /// 401: missing or invalid API key.
        Authentication => "authentication_error",
        /// 403: not allowed to touch this resource.
        Permission => "permission_error",
        /// 400: malformed or missing parameters.
        InvalidRequest => "invalid_request",
        /// 404: the resource does not exist or is not the caller's.
        NotFound => "not_found",
        /// 409: conflicts with the current state.
        Conflict => "conflict",
        /// 429: too many requests.
        RateLimit => "rate_limit_error",
        /// 502: an upstream provider failed.
        Provider => "provider_error",
        /// 500: something went wrong on Nixflex's side.
        Server => "server_error",
    }
}

name_enum! {
    /// The specific reason of an error (`error.code`); programs branch on this.
    ErrorCode {
        /// Wrong, missing or revoked key.
        InvalidApiKey => "invalid_api_key",
        /// The Authorization header lacks the secret half.
        KeySecretRequired => "key_secret_required",
        /// The agent id does not exist.
        AgentNotFound => "agent_not_found",
        /// The agent belongs to another account.
        AgentNotOwned => "agent_not_owned",
        /// The system prompt is over the limit.
        PromptTooLong => "prompt_too_long",
        /// The voice id is not recognised.
        InvalidVoiceId => "invalid_voice_id",
        /// The number is not E.164.
        InvalidPhoneFormat => "invalid_phone_format",
        /// The Twilio SID is not `AC` + 32 hex characters.
        InvalidTwilioSid => "invalid_twilio_sid",
        /// The number is not in the given Twilio account.
        NumberNotInTwilio => "number_not_in_twilio",
        /// Twilio rejected the SID and token.
        TwilioInvalidCredentials => "twilio_invalid_credentials",
        /// Twilio returned its error 20003.
        TwilioAuthFailed => "twilio_auth_failed",
        /// The number is on a different agent.
        NumberAlreadyImported => "number_already_imported",
        /// The call does not exist or is not the caller's.
        CallNotFound => "call_not_found",
        /// Twilio could not place the call (see `details.twilio_error`).
        OutboundFailed => "outbound_failed",
        /// The from_number is not imported to the account.
        FromNumberNotOwned => "from_number_not_owned",
        /// Outbound call, but the agent has no number.
        AgentNoPhone => "agent_no_phone",
        /// A US sender without A2P 10DLC registration.
        SmsNotSupportedInRegion => "sms_not_supported_in_region",
        /// The message body is over 1,600 characters.
        MessageTooLong => "message_too_long",
        /// The recipient sent STOP.
        RecipientUnsubscribed => "recipient_unsubscribed",
        /// Too many API requests.
        RateLimitExceeded => "rate_limit_exceeded",
        /// Too many simultaneous calls.
        ConcurrentCallLimit => "concurrent_call_limit",
    }
}

impl ErrorType {
    /// The HTTP status the contract documents for this type.
    pub fn documented_status(&self) -> Option<u16> {
        Some(match self {
            Self::Authentication => 401,
            Self::Permission => 403,
            Self::InvalidRequest => 400,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::RateLimit => 429,
            Self::Provider => 502,
            Self::Server => 500,
            Self::Unknown(_) => return None,
        })
    }

    /// The type a bare HTTP status implies, for bodies that carry none (an HTML 502 page).
    pub fn from_status(status: u16) -> Option<Self> {
        Some(match status {
            400 => Self::InvalidRequest,
            401 => Self::Authentication,
            403 => Self::Permission,
            404 => Self::NotFound,
            409 => Self::Conflict,
            429 => Self::RateLimit,
            502 => Self::Provider,
            500 => Self::Server,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_names_round_trip() {
        assert_eq!(ErrorType::DOCUMENTED.len(), 8);
        assert_eq!(ErrorCode::DOCUMENTED.len(), 21);
        for (i, t) in ErrorType::DOCUMENTED.iter().enumerate() {
            assert_eq!(&ErrorType::from_name(t.as_str()), t);
            assert_eq!(t.index(), Some(i));
        }
        for (i, c) in ErrorCode::DOCUMENTED.iter().enumerate() {
            assert_eq!(&ErrorCode::from_name(c.as_str()), c);
            assert_eq!(c.index(), Some(i));
        }
    }

    #[test]
    fn unknown_names_are_kept() {
        let c = ErrorCode::from_name("brand_new_code");
        assert!(c.is_unknown());
        assert_eq!(c.as_str(), "brand_new_code");
        assert_eq!(c.index(), None);
    }
}
