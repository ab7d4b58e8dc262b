//! A real headless Chromium for one test, driven over the `WebDriver` protocol: Debian's `chromium` through its
//! `chromedriver` (package `chromium-driver`), each test with a fresh profile. One browser at a time per
//! test binary (nextest also runs the `web` binary's tests one by one: `.config/nextest.toml`), since the
//! machines have two cores.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};

/// The longest any page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(10);

static ONE_BROWSER: Semaphore = Semaphore::const_new(1);

pub struct Browser {
    pub client: Client,
    /// The base URL of the app under test.
    base: String,
    test: &'static str,
    driver: Child,
    _profile: TempDir,
    _turn: SemaphorePermit<'static>,
}

/// A directory removed on drop (Chromium's profile).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and the Chromium it started share a process group (started with
        // `process_group(0)`): end them together even when a failed assertion skipped `close`.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (1280×900) for the app at `base`.
    pub async fn launch(base: String, test: &'static str) -> Self {
        let turn = ONE_BROWSER.acquire().await.unwrap();
        let port = free_port();
        let driver = std::os::unix::process::CommandExt::process_group(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            0,
        )
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)");
        let profile = std::env::temp_dir().join(format!("va-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from chromedriver: {e}"),
            }
        };
        Self {
            client,
            base,
            test,
            driver,
            _profile: TempDir(profile),
            _turn: turn,
        }
    }

    /// Opens the app at `#<route>` (e.g. `/login`).
    pub async fn open(&self, route: &str) {
        // Empty the page first, so what a test waits for next comes from the new route, not the old one.
        let _ = self
            .client
            .execute(
                "const m = document.getElementById('main'); if (m) m.replaceChildren();",
                vec![],
            )
            .await;
        let here = self.client.current_url().await.unwrap();
        if here.as_str().starts_with(&self.base) && here.fragment() == Some(route) {
            // Same URL: no navigation and no `hashchange`, so ask the app to draw the page again.
            self.eval("window.dispatchEvent(new HashChangeEvent('hashchange'))")
                .await;
            return;
        }
        self.client
            .goto(&format!("{}/#{route}", self.base))
            .await
            .unwrap();
    }

    /// The element for `css`, once it exists (panics after [`WAIT`], saving a screenshot of the page).
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => {
                self.screenshot("timeout").await;
                panic!(
                    "`{css}` did not appear within {WAIT:?}: {e}; page: {}",
                    self.text("body").await
                );
            }
        }
    }

    /// Waits until the text of `css` contains `needle` (case-insensitive); returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text(css).await;
            if text.to_lowercase().contains(&needle.to_lowercase()) {
                return text;
            }
            if Instant::now() > deadline {
                self.screenshot("timeout").await;
                panic!("`{css}` never said {needle:?} within {WAIT:?}; it says: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the first `css` element, or "" when there is none.
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// Types `value` into the field `css` (cleared first).
    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    /// Sets a `<select>` to `value` (as a person picking it would: then `change` fires).
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await;
        self.client
            .execute(
                "const s = document.querySelector(arguments[0]); s.value = arguments[1]; \
                 s.dispatchEvent(new Event('change', {bubbles: true}));",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Submits the form `css` with its submit button (a click, like a person).
    pub async fn submit(&self, form_css: &str) {
        self.find(&format!("{form_css} button[type=submit]"))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Logs in through the login page and waits until the app has left it.
    pub async fn log_in(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.fill("#login-form input[name=email]", email).await;
        self.fill("#login-form input[name=password]", password)
            .await;
        self.submit("#login-form").await;
        let deadline = Instant::now() + WAIT;
        // Logged in once the app has left the login page and the start page (which redirects).
        while matches!(
            self.client.current_url().await.unwrap().fragment(),
            Some("/login" | "/") | None
        ) {
            assert!(
                Instant::now() < deadline,
                "login did not finish: {}",
                self.text("main").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn set_width(&self, width: u32) {
        self.client.set_window_size(width, 900).await.unwrap();
    }

    /// Saves a PNG of the page as `target/screenshots/<test>-<name>.png` for a person to look at.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        if let Ok(png) = self.client.screenshot().await {
            std::fs::write(dir.join(format!("{}-{name}.png", self.test)), png).unwrap();
        }
    }

    /// Runs `script` in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Ends the browser session (Chromium quits).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
