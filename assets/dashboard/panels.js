// The plant panels: machine tiles by workshop and line (live from equipmentStatusChanged),
// the open alarms newest first with acknowledge (live from alarmChanged), and the chosen
// machine's sensors with their thresholds and live readings (readingsUpdated).
"use strict";

window.SF = window.SF || {};

(function (SF) {
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false });
  const STATUSES = ["RUNNING", "IDLE", "SETUP", "DOWN", "MAINTENANCE", "OFFLINE"];

  const PLANT =
    "{ workshops(first: 100) { nodes { id code name lines { id code name " +
    "equipment { id code name status statusSince } } } } }";
  const STATUS_CHANGED = "subscription { equipmentStatusChanged { equipmentId status startedAt } }";

  class Tiles {
    constructor(live, onPick, onStatus) {
      this.live = live;
      this.onPick = onPick;
      this.onStatus = onStatus || (() => {});
      this.root = document.getElementById("tiles");
      this.summary = document.getElementById("tiles-summary");
      this.tiles = new Map();
      this.machines = [];
    }

    async start() {
      // Subscribe first, then load: a change between the two is applied on top of the load.
      this.live.subscribe(STATUS_CHANGED, {}, (data) => {
        const event = data.equipmentStatusChanged;
        this.setStatus(event.equipmentId, event.status);
      });
      const data = await SF.graphql(PLANT);
      this.render(data.workshops.nodes);
      return this.machines;
    }

    render(workshops) {
      this.root.replaceChildren();
      this.tiles.clear();
      this.machines = [];
      for (const workshop of workshops) {
        const group = el("div", "workshop");
        group.dataset.workshopId = workshop.id;
        group.appendChild(el("h3", "", workshop.code + " · " + workshop.name));
        for (const line of workshop.lines) {
          const row = el("div", "line");
          row.dataset.lineId = line.id;
          row.appendChild(el("span", "line-name", line.code));
          const tiles = el("div", "line-tiles");
          for (const machine of line.equipment) {
            const tile = el("button", "tile");
            tile.type = "button";
            tile.id = "tile-" + machine.id;
            tile.dataset.equipmentId = machine.id;
            tile.title = machine.name;
            // The line is the row's label: the tile needs only the rest of the code.
            const short = machine.code.startsWith(line.code + "-") ? machine.code.slice(line.code.length + 1) : machine.code;
            tile.append(el("span", "tile-code", short), el("span", "tile-status"));
            tile.addEventListener("click", () => this.onPick(machine.id));
            tiles.appendChild(tile);
            this.tiles.set(machine.id, tile);
            this.machines.push({ id: machine.id, label: line.code + " / " + machine.code + " — " + machine.name });
            this.setStatus(machine.id, machine.status);
          }
          row.appendChild(tiles);
          group.appendChild(row);
        }
        this.root.appendChild(group);
      }
    }

    setStatus(id, status) {
      const tile = this.tiles.get(id);
      if (!tile) return;
      tile.dataset.status = status;
      tile.querySelector(".tile-status").textContent = status;
      this.onStatus(id, status);
      const counts = STATUSES.map((s) => [s, 0]);
      for (const t of this.tiles.values()) {
        const entry = counts.find(([s]) => s === t.dataset.status);
        if (entry) entry[1] += 1;
      }
      this.summary.textContent = counts
        .filter(([, n]) => n)
        .map(([s, n]) => n + " " + s.toLowerCase())
        .join(" · ");
    }

    status(id) {
      const tile = this.tiles.get(id);
      return tile ? tile.dataset.status : "";
    }
  }

  const ALARM_FIELDS =
    "id type severity status message value threshold startTs acknowledged cleared shelved source " +
    "equipment { id code } sensor { id tag }";
  const OPEN_ALARMS =
    "{ alarms(filter: { open: true }, orderBy: START_DESC, first: 100) { nodes { " + ALARM_FIELDS + " } } }";
  const ALARM_CHANGED = "subscription { alarmChanged { action alarm { " + ALARM_FIELDS + " } } }";
  const ACKNOWLEDGE =
    "mutation($id: ID!) { acknowledgeAlarm(input: { id: $id }) { alarm { " + ALARM_FIELDS + " } } }";

  class Alarms {
    constructor(live, canAcknowledge) {
      this.live = live;
      this.canAcknowledge = canAcknowledge;
      this.list = document.getElementById("alarm-list");
      this.count = document.getElementById("alarm-count");
      this.empty = document.getElementById("alarm-empty");
      this.alarms = new Map();
    }

    async start() {
      this.live.subscribe(ALARM_CHANGED, {}, (data) => {
        const alarm = data.alarmChanged.alarm;
        if (alarm) this.upsert(alarm);
      });
      const data = await SF.graphql(OPEN_ALARMS);
      for (const alarm of data.alarms.nodes) this.upsert(alarm, true);
      this.render();
    }

    upsert(alarm, quiet) {
      if (alarm.cleared || alarm.shelved) this.alarms.delete(alarm.id);
      else this.alarms.set(alarm.id, alarm);
      if (!quiet) this.render();
    }

    async acknowledge(id, button) {
      button.disabled = true;
      try {
        const data = await SF.graphql(ACKNOWLEDGE, { id });
        this.upsert(data.acknowledgeAlarm.alarm);
      } catch (error) {
        button.disabled = false;
        button.title = error.message;
      }
    }

    render() {
      const alarms = [...this.alarms.values()].sort((a, b) => Date.parse(b.startTs) - Date.parse(a.startTs));
      // Rows are kept while their alarm is unchanged, so a new alarm only inserts its own row.
      const rows = new Map();
      const items = alarms.slice(0, 50).map((alarm) => {
        const signature = [alarm.severity, alarm.status, alarm.acknowledged, alarm.message].join("|");
        const kept = this.rows && this.rows.get(alarm.id);
        const item = kept && kept.signature === signature ? kept.item : this.row(alarm);
        rows.set(alarm.id, { item, signature });
        return item;
      });
      this.rows = rows;
      this.list.replaceChildren(...items);
      this.count.textContent = String(alarms.length);
      this.empty.hidden = alarms.length > 0;
    }

    row(alarm) {
      const item = el("li", "alarm");
      item.id = "alarm-" + alarm.id;
      item.dataset.alarmId = alarm.id;
      item.dataset.severity = alarm.severity;
      item.dataset.status = alarm.status;
      item.dataset.acknowledged = String(alarm.acknowledged);
      if (alarm.sensor) item.dataset.sensorId = alarm.sensor.id;
      // A SYSTEM alarm (the server's own health) is on no machine: it names its rule and instance.
      if (alarm.type === "SYSTEM") item.dataset.system = "true";
      const where = alarm.type === "SYSTEM"
        ? "SYSTEM · " + (alarm.source || "")
        : [alarm.equipment && alarm.equipment.code, alarm.sensor && alarm.sensor.tag].filter(Boolean).join(" · ");
      item.append(
        el("span", "severity", alarm.severity),
        el("span", "alarm-time num", time(alarm.startTs)),
        el("span", "alarm-where", where || alarm.type),
        el("span", "alarm-message", alarm.message),
      );
      if (alarm.acknowledged) {
        item.appendChild(el("span", "acked", "acknowledged"));
      } else if (this.canAcknowledge) {
        const button = el("button", "ack", "Acknowledge");
        button.type = "button";
        button.addEventListener("click", () => this.acknowledge(alarm.id, button));
        item.appendChild(button);
      } else {
        item.appendChild(el("span", "acked unacked", "unacknowledged"));
      }
      return item;
    }
  }

  const MACHINE =
    "query($id: ID!) { equipmentById(id: $id) { id code name status " +
    "sensors { id tag name unit loLo lo hi hiHi latest { ts value } } } }";
  const SERIES =
    "query($ids: [ID!]!, $from: DateTime!, $to: DateTime!) { readingSeries(sensorIds: $ids, " +
    "from: $from, to: $to, maxPoints: 120, aggs: [LAST]) { sensorId points { ts last } } }";
  const READINGS =
    "subscription($id: ID!) { readingsUpdated(equipmentId: $id, throttleMs: 1000) { sensorId ts value } }";

  class Machine {
    constructor(live, tiles) {
      this.live = live;
      this.tiles = tiles;
      this.picker = document.getElementById("machine-picker");
      this.root = document.getElementById("sensors");
      this.status = document.getElementById("machine-status");
      this.cards = new Map();
      this.stop = null;
      this.picker.addEventListener("change", () => this.pick(this.picker.value));
    }

    offer(machines) {
      for (const machine of machines) {
        const option = el("option", "", machine.label);
        option.value = machine.id;
        this.picker.appendChild(option);
      }
    }

    async pick(id) {
      if (this.stop) this.stop();
      this.stop = null;
      this.picker.value = id;
      this.root.replaceChildren();
      this.cards.clear();
      sessionStorage.setItem("sf.dashboard.machine", id);
      if (!id) return;
      const data = await SF.graphql(MACHINE, { id });
      const machine = data.equipmentById;
      this.showStatus(machine.status);
      for (const sensor of machine.sensors) this.card(sensor);
      this.stop = this.live.subscribe(READINGS, { id }, (update) => {
        for (const reading of update.readingsUpdated) this.reading(reading);
      });
      const ids = machine.sensors.slice(0, 100).map((s) => s.id);
      if (ids.length) this.loadSeries(ids);
    }

    showStatus(status) {
      this.status.textContent = status || "";
      this.status.dataset.status = status || "";
    }

    async loadSeries(ids) {
      const to = new Date();
      const from = new Date(to.getTime() - 10 * 60 * 1000);
      try {
        const data = await SF.graphql(SERIES, { ids, from: from.toISOString(), to: to.toISOString() });
        for (const series of data.readingSeries) {
          const card = this.cards.get(series.sensorId);
          if (!card) continue;
          const rows = series.points.filter((p) => p.last !== null).map((p) => [Date.parse(p.ts), [p.last]]);
          const live = card.chart.points[0].filter(([t]) => !rows.length || t > rows[rows.length - 1][0]);
          card.chart.load(rows.concat(live.map(([t, v]) => [t, [v]])));
        }
      } catch (_) {
        // No history: the live readings still draw.
      }
    }

    card(sensor) {
      const card = el("div", "sensor");
      card.dataset.sensorId = sensor.id;
      const head = el("div", "sensor-head");
      const value = el("span", "sensor-value num", "—");
      value.dataset.value = "";
      head.append(el("span", "sensor-tag", sensor.tag), el("span", "sensor-name", sensor.name), value, el("span", "sensor-unit", sensor.unit));
      const limits = [["LL", sensor.loLo], ["L", sensor.lo], ["H", sensor.hi], ["HH", sensor.hiHi]]
        .map(([name, v]) => name + " " + (v === null ? "—" : v))
        .join("   ");
      const thresholds = el("div", "thresholds num", limits);
      card.append(head, thresholds);
      this.root.appendChild(card);
      const chart = new SF.Chart(card, {
        title: sensor.name,
        unit: sensor.unit,
        series: [{ name: sensor.tag, color: "#4fc3f7" }],
        thresholds: [
          [sensor.loLo, "#e57373"],
          [sensor.lo, "#ffb74d"],
          [sensor.hi, "#ffb74d"],
          [sensor.hiHi, "#e57373"],
        ]
          .filter(([v]) => v !== null)
          .map(([v, color]) => ({ value: v, color })),
      });
      this.cards.set(sensor.id, { sensor, value, chart, card });
      if (sensor.latest) this.reading(Object.assign({ sensorId: sensor.id }, sensor.latest));
    }

    reading(reading) {
      const entry = this.cards.get(reading.sensorId);
      if (!entry) return;
      const { sensor, value, chart, card } = entry;
      value.textContent = SF.compact(reading.value);
      value.dataset.value = String(reading.value);
      value.dataset.ts = reading.ts;
      const v = reading.value;
      const band =
        (sensor.hiHi !== null && v >= sensor.hiHi) || (sensor.loLo !== null && v <= sensor.loLo)
          ? "critical"
          : (sensor.hi !== null && v >= sensor.hi) || (sensor.lo !== null && v <= sensor.lo)
            ? "high"
            : "normal";
      card.dataset.band = band;
      chart.push(Date.parse(reading.ts), [v]);
    }
  }

  SF.Tiles = Tiles;
  SF.Alarms = Alarms;
  SF.Machine = Machine;
})(window.SF);
