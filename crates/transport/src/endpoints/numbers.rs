//! `/v1/phone-numbers`.

use redial_policy::Method;
use serde::de::IgnoredAny;

use crate::client::Client;
use crate::error::Error;
use crate::model::{NumberImport, PhoneNumber};
use crate::request::Request;
use crate::validate;

/// Phone number endpoints.
#[derive(Debug)]
pub struct Numbers<'c> {
    client: &'c Client,
}

impl<'c> Numbers<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `POST /v1/phone-numbers`: imports a Twilio number to an agent. A rejected Twilio
    /// credential halts the sender scope (the SID), so later imports with it fail fast.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-E.164 number or a malformed SID; [`Error`] otherwise.
    pub async fn import(&self, import: &NumberImport) -> Result<PhoneNumber, Error> {
        validate::e164("phone_number", &import.phone_number)?;
        validate::twilio_sid(&import.twilio_account_sid)?;
        let mut req = Request::new(
            Method::Post,
            "/v1/phone-numbers".into(),
            "POST /v1/phone-numbers",
            "numbers",
        );
        req.body = Some(super::to_body(import)?);
        req.idempotency_key = Some(super::idempotency_key(None));
        req.agent_id = Some(&import.agent_id);
        req.sender = Some(&import.twilio_account_sid);
        self.client.execute(&req, None).await
    }

    /// `DELETE /v1/phone-numbers/{phone_number}`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-E.164 number; [`Error`] otherwise.
    pub async fn delete(&self, phone_number: &str) -> Result<(), Error> {
        validate::e164("phone_number", phone_number)?;
        let req = Request::new(
            Method::Delete,
            format!("/v1/phone-numbers/{phone_number}"),
            "DELETE /v1/phone-numbers/{phone_number}",
            "numbers",
        );
        let _: IgnoredAny = self.client.execute(&req, None).await?;
        Ok(())
    }
}
