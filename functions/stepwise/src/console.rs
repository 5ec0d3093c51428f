//! The web console: static pages embedded in the binary (`console/assets`), served on GET by
//! `stepwise serve` beside its API, and by `stepwise console`, which also forwards the pages'
//! API calls to a deployed Stepwise API signed with SigV4.
//!
//! The pages call the same JSON API as every client (POST `/` with `X-Amz-Target`), so the
//! console needs nothing of its own on the server. Everything they load comes from here: the
//! Content-Security-Policy forbids any other origin, so no request leaves the machine.

use crate::client::Signer;
use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;

/// One embedded file: its path under `/console/`, content type and bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $ty:expr),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $ty,
            bytes: include_bytes!(concat!("../console/assets/", $path)),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file the pages load (`index.html` is also `/`).
static ASSETS: &[Asset] = assets![
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "graph.js" => JS,
    "run.js" => JS,
    "machines.js" => JS,
    "machine.js" => JS,
    "definition.js" => JS,
    "execution.js" => JS,
    "history.js" => JS,
    "actions.js" => JS,
    "favicon.svg" => "image/svg+xml",
    "vendor/dagre.min.js" => JS,
    "vendor/dagre.min.js.LEGAL.txt" => "text/plain; charset=utf-8",
];

/// Only this origin: no CDN, font or script from elsewhere can load, and the pages cannot send
/// anything elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

fn respond(asset: &Asset) -> Response {
    // For work on the console: its files read from a directory (`functions/stepwise/console/
    // assets`) at each request, so a change shows on reload without building again. Only the
    // embedded files' names are looked up there.
    let body: Vec<u8> = std::env::var_os("STEPWISE_CONSOLE_DIR")
        .and_then(|dir| std::fs::read(std::path::Path::new(&dir).join(asset.path)).ok())
        .unwrap_or_else(|| asset.bytes.to_vec());
    let mut resp = ([(header::CONTENT_TYPE, asset.content_type)], body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The pages change with the binary: a new `stepwise` must not show a cached old console.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// GET `/`: the console's page.
pub async fn index() -> Response {
    match find("index.html") {
        Some(a) => respond(a),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// GET `/console/{path}`: a script, style sheet or image of the console.
pub async fn asset(Path(path): Path<String>) -> Response {
    match find(&path) {
        Some(a) => respond(a),
        None => (StatusCode::NOT_FOUND, "no such console file").into_response(),
    }
}

/// The console's GET routes, to merge into a router whose POST `/` answers the API.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console/{*path}", get(asset))
        .route("/favicon.ico", get(favicon))
}

async fn favicon() -> Response {
    match find("favicon.svg") {
        Some(a) => respond(a),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `stepwise console`'s options.
#[derive(Args)]
pub struct ConsoleArgs {
    /// The Stepwise API to show (the serverless stack's ApiUrl output, or a `stepwise serve`).
    #[arg(long, env = "STEPWISE_ENDPOINT_URL")]
    endpoint_url: String,
    /// The region to sign for.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// The service name to sign for (`execute-api` for API Gateway with IAM authorization;
    /// `states` for a Step Functions endpoint).
    #[arg(long, default_value = "execute-api")]
    sign_as: String,
    /// The address to listen on (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port to listen on.
    #[arg(long, default_value_t = 8084)]
    port: u16,
}

struct Proxy {
    endpoint: String,
    signer: Signer,
}

/// POST `/`: the page's API call, sent on to the endpoint signed with the user's credentials;
/// the answer comes back as it is.
async fn forward(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match proxy.signer.send(&proxy.endpoint, target, &body).await {
        Ok((status, text)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            text,
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            serde_json::json!({
                "__type": "ConsoleProxyError",
                "message": format!("{e:#}"),
            })
            .to_string(),
        )
            .into_response(),
    }
}

/// Runs `stepwise console` until Ctrl-C.
pub async fn run(args: ConsoleArgs) -> Result<ExitCode> {
    let signer = Signer::from_environment(&args.region, &args.sign_as).await;
    if !signer.has_credentials().await {
        eprintln!(
            "stepwise console: no AWS credentials found (environment, profile, SSO, instance role); calls are signed with a placeholder key, which only a local `stepwise serve` accepts"
        );
    }
    let proxy = Arc::new(Proxy {
        endpoint: args.endpoint_url.clone(),
        signer,
    });
    let app = Router::new()
        .route("/", post(forward).get(index))
        .merge(routes())
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(proxy);
    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    eprintln!(
        "stepwise console: open http://{local}/ (API calls go to {} signed for {} in {})",
        args.endpoint_url, args.sign_as, args.region
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_script_is_embedded() {
        // The page imports modules by name; each must be served.
        let index = std::str::from_utf8(find("index.html").expect("index").bytes).expect("utf-8");
        assert!(index.contains("/console/app.js"));
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(a.bytes).expect("utf-8");
            for import in text.split("from \"./").skip(1) {
                let name = import.split('"').next().expect("name");
                assert!(
                    find(name).is_some(),
                    "{} imports {name}, not embedded",
                    a.path
                );
            }
        }
    }

    #[test]
    fn nothing_is_loaded_from_another_origin() {
        // The SVG namespace is a name, not a place anything is fetched from.
        for a in ASSETS.iter().filter(|a| !a.path.starts_with("vendor/")) {
            let text = String::from_utf8_lossy(a.bytes).replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
                "{} names another origin",
                a.path
            );
        }
    }
}
