//! Spin's outbound HTTP (`wasi:http` 0.3) behind the transports the `tim`
//! and `zendesk` clients are written against.

use http_body_util::BodyExt;
use spin_sdk::http::{FullBody, Request};
use std::time::Duration;

/// The outbound HTTP of the component instance.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpinHttp;

async fn wait(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    spin_sdk::wasip3::clocks::monotonic_clock::wait_for(nanos).await;
}

impl SpinHttp {
    async fn exchange(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(u16, Vec<(String, String)>, Vec<u8>), String> {
        let mut builder = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(FullBody::new(bytes::Bytes::from(body)))
            .map_err(|e| format!("invalid request to {url}: {e}"))?;
        let response = spin_sdk::http::send(request)
            .await
            .map_err(|e| format!("{method} {url}: {e:?}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{method} {url}: reading the body: {e:?}"))?
            .to_bytes()
            .to_vec();
        Ok((status, headers, body))
    }
}

impl tim::rest::Transport for SpinHttp {
    async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        _timeout: Duration,
    ) -> Result<Vec<u8>, tim::rest::TransportError> {
        let headers = [("content-type".to_string(), "application/json".to_string())];
        let (status, _, body) = self
            .exchange("POST", url, &headers, body)
            .await
            .map_err(tim::rest::TransportError)?;
        if !(200..300).contains(&status) {
            return Err(tim::rest::TransportError(format!(
                "IM answered HTTP {status}"
            )));
        }
        Ok(body)
    }

    async fn sleep(&self, duration: Duration) {
        wait(duration).await;
    }
}

impl transport::Transport for SpinHttp {
    async fn send(
        &self,
        request: transport::HttpRequest,
    ) -> Result<transport::HttpResponse, String> {
        let (status, headers, body) = self
            .exchange(request.method, &request.url, &request.headers, request.body)
            .await?;
        Ok(transport::HttpResponse {
            status,
            headers,
            body,
        })
    }

    async fn sleep(&self, duration: Duration) {
        wait(duration).await;
    }
}
