//! Delivering webhooks the way IM does: POST to the callback URL with
//! `SdkAppid`, `CallbackCommand`, `contenttype`, `ClientIP`, `OptPlatform`
//! and, with a token, `Sign` and `RequestTime`; 2 s timeout.

use crate::Shared;
use crate::state::Delivery;
use serde_json::Value;

/// What a before-send callback decided.
pub(crate) enum Verdict {
    /// Deliver, possibly with a replaced body.
    Deliver(Option<Value>),
    /// Refuse with this code and text.
    Reject(i64, String),
    /// Pretend to deliver.
    Drop,
}

/// Sends one webhook and records it. `None` when no callback URL is set.
pub(crate) async fn deliver(
    shared: &Shared,
    command: &str,
    mut body: Value,
    platform: &str,
) -> Option<Delivery> {
    let config = shared.config();
    let url = config.callback_url?;
    body["CallbackCommand"] = Value::String(command.to_string());
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("SdkAppid", &config.sdk_app_id.to_string())
            .append_pair("CallbackCommand", command)
            .append_pair("contenttype", "json")
            .append_pair("ClientIP", "127.0.0.1")
            .append_pair("OptPlatform", platform);
        if let Some(token) = &config.callback_token {
            let time = crate::state::now().to_string();
            query
                .append_pair("Sign", &tim::webhook::sign(token, &time))
                .append_pair("RequestTime", &time);
        }
        query.finish()
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{separator}{query}");
    let mut delivery = Delivery {
        command: command.to_string(),
        body: body.clone(),
        status: None,
        answer: None,
        error: None,
    };
    match shared.http.post(&full).json(&body).send().await {
        Ok(response) => {
            delivery.status = Some(response.status().as_u16());
            match response.bytes().await {
                Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                    Ok(answer) if delivery.status == Some(200) => delivery.answer = Some(answer),
                    Ok(answer) => {
                        delivery.error = Some(format!("HTTP {}", delivery.status.unwrap_or(0)));
                        delivery.answer = Some(answer);
                    }
                    Err(_) => delivery.error = Some("answer is not JSON".into()),
                },
                Err(e) => delivery.error = Some(e.to_string()),
            }
        }
        Err(e) => delivery.error = Some(e.to_string()),
    }
    shared.state().deliveries.push(delivery.clone());
    Some(delivery)
}

/// Runs a before-send callback. IM's default policy: when the callback
/// fails or times out, the message is delivered.
pub(crate) async fn before_send(
    shared: &Shared,
    command: &str,
    body: Value,
    platform: &str,
) -> Verdict {
    let Some(delivery) = deliver(shared, command, body, platform).await else {
        return Verdict::Deliver(None);
    };
    let Some(answer) = delivery.answer.filter(|_| delivery.error.is_none()) else {
        return Verdict::Deliver(None);
    };
    match answer["ErrorCode"].as_i64().unwrap_or(0) {
        0 => Verdict::Deliver(answer.get("MsgBody").filter(|b| b.is_array()).cloned()),
        2 => Verdict::Drop,
        1 => Verdict::Reject(1, answer["ErrorInfo"].as_str().unwrap_or("").to_string()),
        code => Verdict::Reject(code, answer["ErrorInfo"].as_str().unwrap_or("").to_string()),
    }
}
