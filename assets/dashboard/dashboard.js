// Start-up: the login form (the `login` mutation; in development also the development admin),
// then one socket and the four panels. A token the server refuses (4403 on the socket,
// UNAUTHENTICATED over HTTP) sends the screen back to the form.
"use strict";

(function (SF) {
  const LOGIN =
    "mutation($u: String!, $p: String!) { login(input: { username: $u, password: $p }) " +
    "{ accessToken user { username displayName role } } }";
  const ME = "{ me { username displayName role } }";
  const ROLE_KEY = "sf.dashboard.user";
  const MESSAGE_KEY = "sf.dashboard.message";
  const OPERATORS = new Set(["OPERATOR", "ENGINEER", "MANAGER", "ADMIN"]);

  const loginView = document.getElementById("login");
  const dashboardView = document.getElementById("dashboard");
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const devButton = document.getElementById("login-dev");
  const status = document.getElementById("conn-status");
  const statusText = document.getElementById("conn-text");
  let live = null;

  function showLogin(message) {
    loginView.hidden = false;
    dashboardView.hidden = true;
    error.textContent = message || "";
    devButton.hidden = document.body.dataset.devAdmin !== "true";
    document.getElementById("login-username").focus();
  }

  /** Back to the form with a fresh page, so no panel of the old session lives on. */
  function signOut(message) {
    if (live) live.stop();
    SF.session.clear();
    sessionStorage.removeItem(ROLE_KEY);
    sessionStorage.setItem(MESSAGE_KEY, message || "");
    location.reload();
  }

  function connection(state, detail) {
    status.dataset.state = state;
    if (state === "unauthorized") {
      signOut("Your session ended: please sign in again.");
      return;
    }
    statusText.textContent =
      state === "open"
        ? "live"
        : state === "connecting"
          ? "connecting…"
          : "offline — retrying in " + Math.ceil(((detail && detail.retryInMs) || 0) / 1000) + " s";
  }

  async function who() {
    if (SF.session.isDevAdmin()) return { username: "development admin", role: "ADMIN" };
    const saved = sessionStorage.getItem(ROLE_KEY);
    if (saved) return JSON.parse(saved);
    const data = await SF.graphql(ME);
    return data.me;
  }

  async function showDashboard() {
    let user;
    try {
      user = await who();
    } catch (e) {
      SF.session.clear();
      sessionStorage.removeItem(ROLE_KEY);
      showLogin(e.code === "UNAUTHENTICATED" ? "" : e.message);
      return;
    }
    loginView.hidden = true;
    dashboardView.hidden = false;
    document.getElementById("user-name").textContent = (user.displayName || user.username) + " · " + user.role;
    document.body.dataset.role = user.role;

    live = new SF.Live(connection);
    live.start();
    const metrics = new SF.MetricsPanel(live);
    const alarms = new SF.Alarms(live, OPERATORS.has(user.role));
    let machine = null;
    const tiles = new SF.Tiles(live, (id) => machine && machine.pick(id), (id, state) => {
      if (machine && machine.picker.value === id) machine.showStatus(state);
    });
    machine = new SF.Machine(live, tiles);
    metrics.start();
    const failed = (e) => {
      if (e.code === "UNAUTHENTICATED") signOut("Your session ended: please sign in again.");
    };
    alarms.start().catch(failed);
    try {
      machine.offer(await tiles.start());
      const last = sessionStorage.getItem("sf.dashboard.machine");
      if (last && tiles.tiles.has(last)) machine.pick(last);
    } catch (e) {
      failed(e);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const username = document.getElementById("login-username").value;
    const password = document.getElementById("login-password").value;
    SF.session.clear();
    try {
      const data = await SF.graphql(LOGIN, { u: username, p: password });
      SF.session.setToken(data.login.accessToken);
      sessionStorage.setItem(ROLE_KEY, JSON.stringify(data.login.user));
      document.getElementById("login-password").value = "";
      showDashboard();
    } catch (e) {
      error.textContent = e.message;
    }
  });

  devButton.addEventListener("click", () => {
    SF.session.setDevAdmin();
    showDashboard();
  });

  document.getElementById("logout").addEventListener("click", () => signOut(""));

  const message = sessionStorage.getItem(MESSAGE_KEY) || "";
  sessionStorage.removeItem(MESSAGE_KEY);
  if (SF.session.signedIn()) showDashboard();
  else showLogin(message);
})(window.SF);
