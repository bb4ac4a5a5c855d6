// A small time-series chart on <canvas>: a sliding window (10 minutes by default), several
// series with a legend of their latest values, optional threshold lines, a y axis that grows
// to fit the data with round ticks. Drawn at most once per animation frame; the canvas keeps
// the size its CSS box gives it, so new numbers never move the layout.
"use strict";

window.SF = window.SF || {};

(function (SF) {
  const AXIS = "#7d8a99";
  const GRID = "rgba(125, 138, 153, 0.18)";
  const FONT = "600 13px system-ui, sans-serif";

  /** 1, 2 or 5 × a power of ten, at least `raw`. */
  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const unit = raw / power;
    return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
  }

  /** A number in at most 4 significant characters: 0.93, 12.4, 1.2k, 3.4M. */
  function compact(value) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    const abs = Math.abs(value);
    if (abs >= 1e9) return (value / 1e9).toFixed(1) + "G";
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + "M";
    if (abs >= 1e4) return (value / 1e3).toFixed(1) + "k";
    if (abs >= 100) return value.toFixed(0);
    if (abs >= 10) return value.toFixed(1);
    return value.toFixed(2);
  }

  class Chart {
    /**
     * `options`: `title`, `unit`, `series` [{ name, color }], `windowMs`, `format` (value →
     * text), `minMax` (the y axis covers at least 0..minMax), `thresholds` [{ value, color }].
     */
    constructor(container, options) {
      this.options = Object.assign({ windowMs: 10 * 60 * 1000, format: compact, minMax: 1 }, options);
      this.points = this.options.series.map(() => []);
      this.thresholds = this.options.thresholds || [];
      this.pending = false;

      this.root = document.createElement("figure");
      this.root.className = "chart";
      if (this.options.id) this.root.id = this.options.id;
      const caption = document.createElement("figcaption");
      const title = document.createElement("span");
      title.className = "chart-title";
      title.textContent = this.options.title + (this.options.unit ? " (" + this.options.unit + ")" : "");
      caption.appendChild(title);
      this.legend = this.options.series.map((series) => {
        const item = document.createElement("span");
        item.className = "legend";
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = series.color;
        const name = document.createElement("span");
        name.textContent = series.name;
        const value = document.createElement("span");
        value.className = "num legend-value";
        value.textContent = "—";
        item.append(swatch, name, value);
        caption.appendChild(item);
        return value;
      });
      this.canvas = document.createElement("canvas");
      this.root.append(caption, this.canvas);
      container.appendChild(this.root);
      new ResizeObserver(() => this.request()).observe(this.canvas);
    }

    /** Adds one point per series (`values[i]` may be null: a gap) at time `t` (ms). */
    push(t, values) {
      values.forEach((value, i) => {
        if (value === null || value === undefined || !isFinite(value)) return;
        const series = this.points[i];
        if (series.length && series[series.length - 1][0] > t) return;
        series.push([t, value]);
      });
      this.trim();
      this.request();
    }

    /** Replaces every series (history on load): `rows` is [[t, [v0, v1, …]], …], oldest first. */
    load(rows) {
      this.points = this.options.series.map(() => []);
      for (const [t, values] of rows) this.push(t, values);
    }

    clear() {
      this.points = this.options.series.map(() => []);
      this.request();
    }

    setThresholds(thresholds) {
      this.thresholds = thresholds;
      this.request();
    }

    trim() {
      const oldest = Date.now() - this.options.windowMs - 60000;
      for (const series of this.points) {
        let drop = 0;
        while (drop < series.length - 1 && series[drop][0] < oldest) drop++;
        if (drop) series.splice(0, drop);
      }
    }

    request() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }

    draw() {
      const { format } = this.options;
      this.points.forEach((series, i) => {
        this.legend[i].textContent = series.length ? format(series[series.length - 1][1]) : "—";
      });
      const ratio = window.devicePixelRatio || 1;
      const width = this.canvas.clientWidth;
      const height = this.canvas.clientHeight;
      if (!width || !height) return;
      if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
        this.canvas.width = Math.round(width * ratio);
        this.canvas.height = Math.round(height * ratio);
      }
      const ctx = this.canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, height);
      ctx.font = FONT;

      const now = Date.now();
      const from = now - this.options.windowMs;
      let lo = 0;
      let hi = this.options.minMax;
      for (const series of this.points) {
        for (const [t, v] of series) {
          if (t < from) continue;
          if (v > hi) hi = v;
          if (v < lo) lo = v;
        }
      }
      for (const threshold of this.thresholds) {
        if (threshold.value > hi) hi = threshold.value;
        if (threshold.value < lo) lo = threshold.value;
      }
      const step = niceStep((hi - lo) / 4);
      lo = Math.floor(lo / step) * step;
      hi = Math.ceil(hi / step) * step;
      if (hi === lo) hi = lo + step;

      const left = 52;
      const right = width - 8;
      const top = 8;
      const bottom = height - 20;
      const x = (t) => left + ((t - from) / this.options.windowMs) * (right - left);
      const y = (v) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);

      ctx.strokeStyle = GRID;
      ctx.fillStyle = AXIS;
      ctx.lineWidth = 1;
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      for (let v = lo; v <= hi + step / 2; v += step) {
        ctx.beginPath();
        ctx.moveTo(left, Math.round(y(v)) + 0.5);
        ctx.lineTo(right, Math.round(y(v)) + 0.5);
        ctx.stroke();
        ctx.fillText(compact(v), left - 6, y(v));
      }
      ctx.textAlign = "center";
      ctx.textBaseline = "alphabetic";
      const minutes = Math.round(this.options.windowMs / 60000);
      // About one label per 60 px: a narrow chart labels every 5 minutes, a wide one every 2.
      const every = Math.max(1, Math.ceil(minutes / Math.max(1, Math.floor((right - left) / 60))));
      const labelStep = every <= 2 ? 2 : every <= 5 ? 5 : every;
      for (let m = minutes; m >= 0; m -= labelStep) {
        ctx.fillText(m === 0 ? "now" : "−" + m + "m", x(now - m * 60000), height - 4);
      }

      for (const threshold of this.thresholds) {
        ctx.strokeStyle = threshold.color;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(left, y(threshold.value));
        ctx.lineTo(right, y(threshold.value));
        ctx.stroke();
      }
      ctx.setLineDash([]);

      ctx.save();
      ctx.beginPath();
      ctx.rect(left, top - 2, right - left, bottom - top + 4);
      ctx.clip();
      this.points.forEach((series, i) => {
        ctx.strokeStyle = this.options.series[i].color;
        ctx.lineWidth = 2;
        ctx.beginPath();
        series.forEach(([t, v], n) => (n ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
        ctx.stroke();
        if (series.length) {
          const [t, v] = series[series.length - 1];
          ctx.fillStyle = this.options.series[i].color;
          ctx.beginPath();
          ctx.arc(x(t), y(v), 3, 0, 2 * Math.PI);
          ctx.fill();
        }
      });
      ctx.restore();
    }
  }

  SF.Chart = Chart;
  SF.compact = compact;
})(window.SF);
