// The server panel: key numbers, ten 10-minute charts and a row per instance, from the
// `systemMetrics` subscription (one snapshot a second) after `systemMetricsHistory` on load.
// A server without those fields (or a caller who is not an admin) shows "—" and a note.
"use strict";

window.SF = window.SF || {};

(function (SF) {
  const FIELDS =
    "instance version at uptimeS cpuPercent machineCpuPercent rssBytes requestsPerS " +
    "latencyP50Ms latencyP95Ms latencyP99Ms errorRate sqlStatementsPerS sqlP95Ms slowStatements " +
    "poolInUse poolIdle poolAcquireMs cacheHitRatio wsConnections subscriptions droppedMessages " +
    "ingestReadingsPerS jobQueueDepth jobFailures";
  const SUBSCRIPTION =
    "subscription { systemMetrics(intervalMs: 1000) { " + FIELDS + " instances { " + FIELDS + " } } }";
  const HISTORY =
    "query($from: DateTime!, $to: DateTime!, $instance: String) { systemMetricsHistory(" +
    "from: $from, to: $to, instance: $instance, stepS: 60) { instance at metrics { " + FIELDS + " } } }";

  const WINDOW_MS = 10 * 60 * 1000;
  const percent = (v) => (v === null || v === undefined ? null : v * 100);
  const fixed = (digits) => (v) => (v === null || v === undefined || !isFinite(v) ? "—" : v.toFixed(digits));
  const bytes = (v) => (v === null || v === undefined ? "—" : (v / 1048576).toFixed(0) + " MiB");
  const duration = (s) => {
    if (s === null || s === undefined) return "—";
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? h + "h" + String(m).padStart(2, "0") : m + "m" + String(Math.floor(s % 60)).padStart(2, "0");
  };

  /** The key numbers: id suffix, label, how to read it from a snapshot, how to print it. */
  const KPIS = [
    ["requestsPerS", "requests/s", (m) => m.requestsPerS, fixed(1)],
    ["latencyP95Ms", "p95 ms", (m) => m.latencyP95Ms, fixed(1)],
    ["errorRate", "errors %", (m) => percent(m.errorRate), fixed(2)],
    ["sqlStatementsPerS", "SQL/s", (m) => m.sqlStatementsPerS, fixed(0)],
    ["poolInUse", "pool in use", (m) => m.poolInUse, fixed(0)],
    ["cacheHitRatio", "cache hit %", (m) => percent(m.cacheHitRatio), fixed(1)],
    ["wsConnections", "sockets", (m) => m.wsConnections, fixed(0)],
    ["subscriptions", "subscriptions", (m) => m.subscriptions, fixed(0)],
    ["ingestReadingsPerS", "readings/s", (m) => m.ingestReadingsPerS, fixed(0)],
    ["jobQueueDepth", "job queue", (m) => m.jobQueueDepth, fixed(0)],
    ["cpuPercent", "CPU %", (m) => m.cpuPercent, fixed(1)],
    ["rssBytes", "memory", (m) => m.rssBytes, bytes],
  ];

  /** The charts: id, title, unit, series [name, colour, read]. */
  const CHARTS = [
    ["requests", "Requests", "/s", [["req/s", "#4fc3f7", (m) => m.requestsPerS]]],
    ["latency", "Latency", "ms", [
      ["p50", "#81c784", (m) => m.latencyP50Ms],
      ["p95", "#ffb74d", (m) => m.latencyP95Ms],
      ["p99", "#e57373", (m) => m.latencyP99Ms],
    ]],
    ["errors", "Errors", "%", [["errors", "#e57373", (m) => percent(m.errorRate)]]],
    ["sql", "SQL statements", "/s", [["stmt/s", "#ba68c8", (m) => m.sqlStatementsPerS]]],
    ["sql-p95", "SQL p95", "ms", [["p95", "#ffb74d", (m) => m.sqlP95Ms]]],
    ["pool", "Pool", "connections · wait ms", [
      ["in use", "#4fc3f7", (m) => m.poolInUse],
      ["idle", "#81c784", (m) => m.poolIdle],
      ["wait ms", "#e57373", (m) => m.poolAcquireMs],
    ]],
    ["cache", "Cache hit ratio", "%", [["hits", "#81c784", (m) => percent(m.cacheHitRatio)]]],
    ["sockets", "WebSockets", "", [
      ["connections", "#4fc3f7", (m) => m.wsConnections],
      ["subscriptions", "#ba68c8", (m) => m.subscriptions],
    ]],
    ["ingest", "Ingest", "readings/s", [["readings/s", "#4dd0e1", (m) => m.ingestReadingsPerS]]],
    ["jobs", "Job queue", "jobs", [["depth", "#fff176", (m) => m.jobQueueDepth]]],
  ];

  /** Sums for rates and counts, max for percentiles and CPU: the cluster of history rows. */
  const MAX_FIELDS = new Set(["latencyP50Ms", "latencyP95Ms", "latencyP99Ms", "sqlP95Ms", "poolAcquireMs", "cpuPercent", "machineCpuPercent", "errorRate", "cacheHitRatio"]);
  function aggregate(snapshots) {
    const out = {};
    for (const snapshot of snapshots) {
      for (const [key, value] of Object.entries(snapshot)) {
        if (typeof value !== "number") continue;
        if (out[key] === undefined) out[key] = value;
        else out[key] = MAX_FIELDS.has(key) ? Math.max(out[key], value) : out[key] + value;
      }
    }
    return out;
  }

  class MetricsPanel {
    constructor(live) {
      this.live = live;
      this.selected = "";
      this.picker = document.getElementById("instance-picker");
      this.note = document.getElementById("metrics-note");
      this.rows = document.querySelector("#instances tbody");
      this.lastUpdate = document.getElementById("last-update");
      this.history = new Map(); // "" (cluster) or instance id → [[t, snapshot], …]
      this.kpis = KPIS.map(([key, label, read, format]) => {
        const box = document.createElement("div");
        box.className = "kpi";
        box.id = "metric-" + key;
        box.dataset.value = "";
        const name = document.createElement("span");
        name.className = "kpi-label";
        name.textContent = label;
        const value = document.createElement("span");
        value.className = "kpi-value num";
        value.textContent = "—";
        box.append(value, name);
        document.getElementById("kpis").appendChild(box);
        return { box, value, read, format };
      });
      const charts = document.getElementById("charts");
      this.charts = CHARTS.map(([id, title, unit, series]) => ({
        chart: new SF.Chart(charts, {
          id: "chart-" + id,
          title,
          unit,
          windowMs: WINDOW_MS,
          series: series.map(([name, color]) => ({ name, color })),
        }),
        reads: series.map((s) => s[2]),
      }));
      this.picker.addEventListener("change", () => this.select(this.picker.value));
    }

    start() {
      this.loadHistory(this.selected);
      this.stop = this.live.subscribe(
        SUBSCRIPTION,
        {},
        (data) => this.receive(data.systemMetrics),
        (error) => this.unavailable(error),
      );
    }

    unavailable(error) {
      const why =
        error.code === "FORBIDDEN"
          ? "admins only"
          : /Unknown field/.test(error.message)
            ? "this server has no systemMetrics"
            : error.message;
      this.note.textContent = "— metrics unavailable: " + why;
      this.note.dataset.state = "unavailable";
    }

    async loadHistory(instance) {
      const to = new Date();
      const from = new Date(to.getTime() - WINDOW_MS);
      try {
        const data = await SF.graphql(HISTORY, {
          from: from.toISOString(),
          to: to.toISOString(),
          instance: instance || null,
        });
        const byTime = new Map();
        for (const point of data.systemMetricsHistory || []) {
          const t = Date.parse(point.at);
          if (!byTime.has(t)) byTime.set(t, []);
          byTime.get(t).push(point.metrics);
        }
        const rows = [...byTime.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([t, snapshots]) => [t, snapshots.length > 1 ? aggregate(snapshots) : snapshots[0]]);
        const live = this.history.get(instance) || [];
        const firstLive = live.length ? live[0][0] : Infinity;
        this.history.set(instance, rows.filter(([t]) => t < firstLive).concat(live));
        if (this.selected === instance) this.redraw();
      } catch (_) {
        // No history (older server, or not an admin): the live points still draw.
      }
    }

    select(instance) {
      this.selected = instance;
      if (!this.history.has(instance)) this.loadHistory(instance);
      this.redraw();
    }

    remember(key, t, snapshot) {
      if (!this.history.has(key)) this.history.set(key, []);
      const rows = this.history.get(key);
      rows.push([t, snapshot]);
      const oldest = t - WINDOW_MS - 60000;
      while (rows.length && rows[0][0] < oldest) rows.shift();
    }

    receive(cluster) {
      if (!cluster) return;
      this.note.textContent = "";
      this.note.dataset.state = "live";
      const t = Date.parse(cluster.at) || Date.now();
      this.remember("", t, cluster);
      const instances = cluster.instances || [];
      for (const instance of instances) this.remember(instance.instance, Date.parse(instance.at) || t, instance);
      this.syncPicker(instances);
      this.drawInstances(instances);
      const shown = this.selected ? instances.find((i) => i.instance === this.selected) : cluster;
      if (shown) {
        this.showKpis(shown);
        for (const { chart, reads } of this.charts) chart.push(t, reads.map((read) => read(shown)));
      }
      this.lastUpdate.textContent = new Date(t).toLocaleTimeString([], { hour12: false });
      this.lastUpdate.dataset.at = String(t);
    }

    showKpis(snapshot) {
      for (const kpi of this.kpis) {
        const value = kpi.read(snapshot);
        kpi.value.textContent = kpi.format(value);
        kpi.box.dataset.value = value === null || value === undefined ? "" : String(value);
      }
    }

    redraw() {
      const rows = this.history.get(this.selected) || [];
      for (const { chart, reads } of this.charts) chart.load(rows.map(([t, m]) => [t, reads.map((read) => read(m))]));
      if (rows.length) this.showKpis(rows[rows.length - 1][1]);
    }

    syncPicker(instances) {
      const known = new Set([...this.picker.options].map((o) => o.value));
      for (const instance of instances) {
        if (known.has(instance.instance)) continue;
        const option = document.createElement("option");
        option.value = instance.instance;
        option.textContent = instance.instance;
        this.picker.appendChild(option);
      }
    }

    drawInstances(instances) {
      const cells = (m) => [
        m.instance,
        m.version,
        duration(m.uptimeS),
        fixed(1)(m.cpuPercent),
        bytes(m.rssBytes),
        fixed(1)(m.requestsPerS),
        fixed(1)(m.latencyP95Ms),
        fixed(2)(percent(m.errorRate)),
        fixed(0)(m.wsConnections),
        fixed(0)(m.subscriptions),
      ];
      while (this.rows.rows.length > instances.length) this.rows.deleteRow(-1);
      instances.forEach((instance, n) => {
        const row = this.rows.rows[n] || this.rows.insertRow();
        row.dataset.instance = instance.instance;
        cells(instance).forEach((text, i) => {
          const cell = row.cells[i] || row.insertCell();
          if (i > 1) cell.className = "num";
          if (cell.textContent !== text) cell.textContent = text;
        });
      });
    }
  }

  SF.MetricsPanel = MetricsPanel;
})(window.SF);
