//! Alert rules end to end: a rule with a tiny threshold fires and clears, the webhook
//! receives correctly signed notifications, a failing receiver gets retries, and the same
//! transitions go by e-mail to a local SMTP sink.

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;
use smart_factory::telemetry::alerts::{AlertMetric, AlertRule, Comparison};
use tokio::sync::{Mutex, mpsc};

use crate::helpers::{SMALL, TestApp};

const SECRET: &str = "webhook-signing-secret";

/// One request the receiver got: its signature header and body.
type Received = (Option<String>, Vec<u8>);

/// A webhook receiver on 127.0.0.1:0 that answers 500 to the first `failures` requests.
async fn receiver(failures: usize) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let left = Arc::new(Mutex::new(failures));
    let handler =
        |State((tx, left)): State<(mpsc::UnboundedSender<Received>, Arc<Mutex<usize>>)>,
         headers: HeaderMap,
         body: axum::body::Bytes| async move {
            let sig = headers
                .get("x-sf-signature")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let _ = tx.send((sig, body.to_vec()));
            let mut left = left.lock().await;
            if *left > 0 {
                *left -= 1;
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::NO_CONTENT
            }
        };
    let app = Router::new()
        .route("/hook", post(handler))
        .with_state((tx, left));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// The receiver's next request, within 20 s.
async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a webhook request in time")
        .expect("the receiver runs")
}

/// What a receiver does: recompute the HMAC of the body and compare.
fn verify(received: &Received) -> Value {
    let (sig, body) = received;
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig.as_deref(), Some(format!("sha256={hex}").as_str()));
    serde_json::from_slice(body).expect("a JSON body")
}

/// An app whose only rule fires as soon as the latency window holds any operation, and
/// clears once the (one-second) window is empty again.
async fn alerting_app(url: String, retries: u32) -> TestApp {
    TestApp::spawn_with(Some(SMALL), move |c| {
        any_latency_rule(&mut c.metrics, retries);
        c.metrics.webhook_url = Some(url);
        c.metrics.webhook_secret = Some(SECRET.to_owned().into());
    })
    .await
}

/// The one rule of these tests (fires while the one-second latency window holds any
/// operation), ticks of 100 ms, and `retries` quick retries for every notification.
pub(crate) fn any_latency_rule(m: &mut smart_factory::config::MetricsConfig, retries: u32) {
    m.interval = Duration::from_millis(100);
    m.window = Duration::from_secs(1);
    m.rules = vec![AlertRule {
        name: "any_latency".into(),
        metric: AlertMetric::LatencyP95Ms,
        comparison: Comparison::Above,
        threshold: 0.0,
        for_s: 0.0,
        severity: 4,
    }];
    m.webhook_retries = retries;
    m.webhook_backoff = Duration::from_millis(50);
}

#[tokio::test]
async fn a_rule_fires_and_clears_and_the_webhook_gets_signed_notifications() {
    let (url, mut rx) = receiver(0).await;
    let app = alerting_app(url, 0).await;
    let admin = app.admin_token().await;
    app.graphql_as(
        &admin,
        "{ workshops(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await
    .data();
    let fired = verify(&next(&mut rx).await);
    assert_eq!(fired["state"], "firing", "{fired}");
    assert_eq!(fired["rule"]["name"], "any_latency");
    assert_eq!(fired["instance"], app.state.instance_id.as_ref());
    assert!(fired["value"].as_f64() > Some(0.0));
    // No more operations: the window empties within a second and the rule clears.
    let cleared = verify(&next(&mut rx).await);
    assert_eq!(cleared["state"], "cleared", "{cleared}");
    assert_eq!(cleared["value"], 0.0);
    assert_eq!(app.state.metrics.system.alerts_firing.get(), 0);
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_of_the_same_signed_body() {
    let (url, mut rx) = receiver(2).await;
    let app = alerting_app(url, 3).await;
    let admin = app.admin_token().await;
    app.graphql_as(
        &admin,
        "{ workshops(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await
    .data();
    let first = next(&mut rx).await;
    let second = next(&mut rx).await;
    let third = next(&mut rx).await;
    assert_eq!(first, second, "a retry resends the same signed body");
    assert_eq!(second, third);
    assert_eq!(verify(&third)["state"], "firing");
    let failures = &app.state.metrics.system.notification_failures;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.state.metrics.system.notifications.get() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(failures.get(), 2);
}

/// One message the SMTP sink accepted: its envelope recipients and its text.
type Mail = (Vec<String>, String);

/// A minimal SMTP server on 127.0.0.1:0 that answers `451` to the first `failures` MAIL
/// commands and hands every accepted message on.
async fn smtp_sink(failures: usize) -> (String, mpsc::UnboundedReceiver<Mail>) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

    let (tx, rx) = mpsc::unbounded_channel::<Mail>();
    let left = Arc::new(Mutex::new(failures));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (tx, left) = (tx.clone(), left.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let (mut rcpt, mut data, mut in_data) = (Vec::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            let _ = tx.send((std::mem::take(&mut rcpt), std::mem::take(&mut data)));
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "MAIL" => {
                            let mut left = left.lock().await;
                            if *left > 0 {
                                *left -= 1;
                                b"451 try again later\r\n"
                            } else {
                                b"250 ok\r\n"
                            }
                        }
                        "RCPT" => {
                            rcpt.push(line.get(8..).unwrap_or("").trim().to_owned());
                            b"250 ok\r\n"
                        }
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn a_firing_rule_is_mailed_to_every_recipient_and_a_refusing_server_gets_retries() {
    let (url, mut rx) = smtp_sink(1).await;
    let app = TestApp::spawn_with(Some(SMALL), move |c| {
        any_latency_rule(&mut c.metrics, 2);
        c.metrics.smtp = Some(smart_factory::config::SmtpConfig {
            url: url.into(),
            from: "Smart Factory <alerts@plant.test>".parse().expect("from"),
            to: vec![
                "ops@plant.test".parse().expect("to"),
                "lead@plant.test".parse().expect("to"),
            ],
        });
    })
    .await;
    let admin = app.admin_token().await;
    app.graphql_as(
        &admin,
        "{ workshops(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await
    .data();
    let (rcpt, text) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an e-mail in time")
        .expect("the sink runs");
    // Unfold long header lines (RFC 5322 folding: a line break before whitespace).
    let text = text.replace("\n ", " ").replace("\n\t", " ");
    assert_eq!(rcpt, ["<ops@plant.test>", "<lead@plant.test>"], "{text}");
    assert!(
        text.contains("Subject: [smart-factory] firing: any_latency on"),
        "{text}"
    );
    assert!(text.contains("alerts@plant.test"), "{text}");
    assert!(text.contains("Alert rule any_latency is firing"), "{text}");
    // The sink hands the message on before it answers 250: wait for the sender to count it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.state.metrics.system.emails.get() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never counted as sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.state.metrics.system.email_failures.get(),
        1,
        "the refused first attempt is counted and retried"
    );
}
