//! A real headless Chromium driven over WebDriver: finds (or installs) Debian's `chromium`
//! and `chromedriver`, starts chromedriver on a free loopback port, and opens sessions on it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Where the tests save a screenshot of every page (ignored by git).
pub(crate) fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web/screenshots")
}

/// The first of `names` on PATH (or given by `variable`).
fn find(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).map(PathBuf::from) {
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn find_both() -> Option<(PathBuf, PathBuf)> {
    Some((
        find(
            "CHROME_BIN",
            &["chromium", "chromium-browser", "google-chrome"],
        )?,
        find("CHROMEDRIVER", &["chromedriver"])?,
    ))
}

/// Chromium and chromedriver: found, else installed with apt-get when this process may
/// (root on Debian), else `None` with the reason (the tests then skip, loudly).
pub(crate) fn chromium() -> Result<(PathBuf, PathBuf), String> {
    if let Some(found) = find_both() {
        return Ok(found);
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if is_root && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("tests/web: no chromium/chromedriver found; installing Debian's packages");
        let installed = Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status();
        if installed.is_ok_and(|status| status.success())
            && let Some(found) = find_both()
        {
            return Ok(found);
        }
    }
    Err("no chromium and chromedriver on PATH (CHROME_BIN, CHROMEDRIVER), and they could not be installed: `apt-get install chromium chromium-driver`".into())
}

/// A running chromedriver, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it answers.
    pub(crate) async fn start(chromium: PathBuf, chromedriver: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
        };
        pgsched_tests::eventually("chromedriver to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        })
        .await;
        driver
    }

    /// A new headless browser session.
    pub(crate) async fn session(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--lang=en-US"],
            }),
        );
        ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of the element `css`.
pub(crate) async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element {css}: {error}"))
        .text()
        .await
        .expect("its text")
}

/// Reloads `url` until the text of `css` satisfies `check`, or fails after the deadline.
pub(crate) async fn reload_until(
    client: &Client,
    url: &str,
    css: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let what = format!("{css} on {url}");
    pgsched_tests::eventually(&what, || async {
        client.goto(url).await.ok()?;
        let element = client.find(Locator::Css(css)).await.ok()?;
        let text = element.text().await.ok()?;
        check(&text).then_some(text)
    })
    .await
}

/// Clicks `css`, accepts the confirmation it asks for, and waits until the action's answer
/// (a redirect to a page saying what was done) has loaded.
pub(crate) async fn click_and_confirm(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no element {css}: {error}"))
        .click()
        .await
        .expect("clicked");
    pgsched_tests::eventually("the confirmation dialog", || async {
        client.accept_alert().await.ok()
    })
    .await;
    wait_for_url(client, "done=").await;
}

/// Waits until the browser is on a URL containing `part`, and that page has loaded.
pub(crate) async fn wait_for_url(client: &Client, part: &str) {
    pgsched_tests::eventually(&format!("a page whose URL has {part:?}"), || async {
        let url = client.current_url().await.ok()?;
        url.as_str().contains(part).then_some(())
    })
    .await;
    settle(client).await;
}

/// Saves a screenshot of the page as `name.png`.
pub(crate) async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot saved");
}

/// Waits (bounded) for the page to finish loading after a navigation.
pub(crate) async fn settle(client: &Client) {
    let _ = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("main"))
        .await;
}
