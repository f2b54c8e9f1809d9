//! `/v1/agents`.

use redial_policy::Method;

use crate::client::Client;
use crate::error::Error;
use crate::model::{Agent, List, NewAgent};
use crate::request::Request;
use crate::validate;

/// Agent endpoints.
#[derive(Debug)]
pub struct Agents<'c> {
    client: &'c Client,
}

impl<'c> Agents<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v1/agents`.
    ///
    /// # Errors
    /// [`Error`] when the request does not succeed.
    pub async fn list(&self) -> Result<Vec<Agent>, Error> {
        let req = Request::new(Method::Get, "/v1/agents".into(), "GET /v1/agents", "agents");
        let list: List<Agent> = self.client.execute(&req, None).await?;
        Ok(list.data)
    }

    /// `GET /v1/agents/{id}`.
    ///
    /// # Errors
    /// [`Error`] when the id is malformed or the request does not succeed.
    pub async fn get(&self, id: &str) -> Result<Agent, Error> {
        validate::path_id("agent_id", id)?;
        let mut req = Request::new(
            Method::Get,
            format!("/v1/agents/{id}"),
            "GET /v1/agents/{id}",
            "agents",
        );
        req.agent_id = Some(id);
        self.client.execute(&req, None).await
    }

    /// `POST /v1/agents`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a prompt over 10,000 characters; [`Error`] otherwise.
    pub async fn create(&self, agent: &NewAgent) -> Result<Agent, Error> {
        validate::prompt(&agent.system_prompt)?;
        let mut req = Request::new(
            Method::Post,
            "/v1/agents".into(),
            "POST /v1/agents",
            "agents",
        );
        req.body = Some(super::to_body(agent)?);
        req.idempotency_key = Some(super::idempotency_key(None));
        self.client.execute(&req, None).await
    }
}
