//! `/v1/messages`.

use redial_policy::Method;

use crate::client::Client;
use crate::error::Error;
use crate::model::{Message, NewMessage};
use crate::request::Request;
use crate::validate;

/// Message endpoints.
#[derive(Debug)]
pub struct Messages<'c> {
    client: &'c Client,
}

impl<'c> Messages<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `POST /v1/messages`. Never splits a long body: see [`crate::sms::split_body`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-E.164 number or a body over 1,600 characters;
    /// [`Error`] otherwise.
    pub async fn send(&self, message: &NewMessage) -> Result<Message, Error> {
        validate::e164("to", &message.to)?;
        if let Some(from) = &message.from_number {
            validate::e164("from_number", from)?;
        }
        validate::message_body(&message.body)?;
        let mut req = Request::new(
            Method::Post,
            "/v1/messages".into(),
            "POST /v1/messages",
            "messages",
        );
        req.body = Some(super::to_body(message)?);
        req.idempotency_key = Some(super::idempotency_key(message.idempotency_key.as_ref()));
        req.agent_id = message.agent_id.as_deref();
        req.to = Some(&message.to);
        req.sender = message.from_number.as_deref();
        self.client.execute(&req, None).await
    }
}
