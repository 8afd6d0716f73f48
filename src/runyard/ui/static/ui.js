// runyard UI: the metric charts (uPlot over the API's downsampled series), live logs
// (Server-Sent Events) and a sweep's parallel coordinates. No build step: plain script.
// Text from the server is only ever put into the page as text (textContent), never HTML.
window.runyard = (function () {
  "use strict";
  const API = "/api/v1";
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
                  "#be185d", "#4d7c0f", "#7c3aed", "#a16207"];
  const charts = {};  // metric name -> {plot, series: {run id: the API's JSON}}

  function enc(value) { return encodeURIComponent(value); }

  async function getJSON(url) {
    const response = await fetch(url, {credentials: "same-origin"});
    if (!response.ok) {
      let message = response.status + " " + response.statusText;
      try { message = (await response.json()).message || message; } catch (e) { /* text */ }
      throw new Error(message);
    }
    return response.json();
  }

  // TensorBoard's smoothing: an exponential moving average, debiased at the start
  function smooth(values, weight) {
    if (!weight) return values;
    let last = 0, count = 0;
    return values.map(function (v) {
      if (v === null || !isFinite(v)) return v;
      count += 1;
      last = last * weight + (1 - weight) * v;
      return last / (1 - Math.pow(weight, count));
    });
  }

  function chartOptions(name, width, runs, state) {
    const series = [{label: state.x}];
    const bands = [];
    runs.forEach(function (runId, i) {
      const color = COLORS[i % COLORS.length];
      const label = runs.length > 1 ? runId : name;
      const base = series.length;
      series.push({label: label, stroke: color, width: 1.5, spanGaps: true});
      series.push({label: label + " min", stroke: color + "55", width: 0.5, spanGaps: true});
      series.push({label: label + " max", stroke: color + "55", width: 0.5, spanGaps: true});
      bands.push({series: [base + 2, base + 1], fill: color + "22"});
    });
    return {
      title: name, width: width, height: 260, series: series, bands: bands,
      scales: {x: {time: state.x === "time"}, y: {distr: state.log ? 3 : 1}},
      axes: [{label: state.x === "relative" ? "seconds since start" : state.x}, {}],
      legend: {live: true},
      cursor: {drag: {x: true, y: false}},
    };
  }

  function positive(values, log) {
    return log ? values.map(function (v) { return v > 0 ? v : null; }) : values;
  }

  async function drawChart(holder, name, runs, state, current) {
    const width = Math.max(300, Math.floor(holder.clientWidth || 800));
    const buckets = Math.min(2000, width);
    const fetched = await Promise.all(runs.map(function (runId) {
      return getJSON(API + "/runs/" + enc(runId) + "/metrics/series?name=" + enc(name) +
                     "&buckets=" + buckets + "&x=" + enc(state.x));
    }));
    const perRun = {};
    const tables = fetched.map(function (s, i) {
      perRun[runs[i]] = s;
      return [s.x, positive(smooth(s.mean, state.smoothing), state.log),
              positive(s.min, state.log), positive(s.max, state.log)];
    });
    if (!current()) return;  // the controls changed meanwhile: a newer drawing runs
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.metric = name;
    holder.appendChild(box);
    const plot = new uPlot(chartOptions(name, width - 20, runs, state), data, box);
    charts[name] = {plot: plot, series: perRun, data: data};
    box.dataset.points = String(fetched.reduce(function (n, s) { return n + (s.total || 0); }, 0));
  }

  function metricsPage(config) {
    const controls = document.getElementById("chart-controls");
    const holder = document.getElementById("charts");
    const state = {x: "step", log: false, smoothing: 0, extra: []};
    let generation = 0;
    async function draw() {
      const mine = ++generation;
      const current = function () { return mine === generation; };
      holder.replaceChildren();
      Object.keys(charts).forEach(function (k) { charts[k].plot.destroy(); delete charts[k]; });
      const runs = config.runs.concat(state.extra.filter(function (r) {
        return config.runs.indexOf(r) < 0;
      }));
      holder.dataset.state = "loading";
      try {
        const cells = config.names.map(function (name) {
          const cell = document.createElement("div");
          cell.className = "chart-cell";
          holder.appendChild(cell);
          return cell;
        });
        await Promise.all(config.names.map(function (name, i) {
          return drawChart(cells[i], name, runs, state, current);
        }));
        if (!current()) return;
        holder.dataset.state = "drawn";
      } catch (e) {
        if (!current()) return;
        const p = document.createElement("p");
        p.className = "error";
        p.textContent = "chart: " + e.message;
        holder.appendChild(p);
        holder.dataset.state = "error";
      }
    }
    controls.addEventListener("change", function (event) {
      const t = event.target;
      if (t.name === "x") state.x = t.value;
      else if (t.name === "log") state.log = t.checked;
      else if (t.name === "smoothing") state.smoothing = Number(t.value);
      else if (t.name === "overlay") {
        state.extra = t.value.split(",").map(function (s) { return s.trim(); })
          .filter(Boolean).slice(0, 9);
      }
      draw();
    });
    controls.addEventListener("input", function (event) {
      if (event.target.name === "smoothing") {
        event.target.nextElementSibling.textContent = event.target.value;
      }
    });
    draw();
  }

  // -- logs ----------------------------------------------------------------------------
  function followLogs(config) {
    const blocks = {};
    const seen = {};  // log name -> bytes the page holds already (it rendered whole lines)
    document.querySelectorAll("pre.log-text").forEach(function (pre) {
      blocks[pre.dataset.log] = pre;
      seen[pre.dataset.log] = Number(pre.dataset.offset || 0);
    });
    const received = {};
    const encoder = new TextEncoder();
    const badge = document.querySelector(".live");
    function block(name) {
      if (blocks[name]) return blocks[name];
      const none = document.getElementById("no-logs");
      if (none) none.remove();
      const div = document.createElement("div");
      div.className = "log";
      const h = document.createElement("h4");
      h.textContent = name;
      const pre = document.createElement("pre");
      pre.className = "log-text";
      pre.dataset.log = name;
      div.append(h, pre);
      const anchor = badge ? badge.parentElement : document.body;
      anchor.parentElement.insertBefore(div, anchor.nextSibling);
      blocks[name] = pre;
      seen[name] = 0;
      return pre;
    }
    const source = new EventSource(API + "/runs/" + enc(config.run) + "/logs/stream");
    source.addEventListener("line", function (event) {
      const item = JSON.parse(event.data);
      const size = encoder.encode(item.line).length + 1;
      received[item.name] = (received[item.name] || 0) + size;
      if (received[item.name] <= (seen[item.name] || 0)) return;  // on the page already
      const pre = block(item.name);
      const follow = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(item.line + "\n"));
      if (follow) pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener("end", function (event) {
      source.close();
      if (badge) badge.textContent = "ended: " + JSON.parse(event.data).status;
    });
  }

  // -- a sweep: parallel coordinates of hyperparameters against the metric -------------
  function parallelCoordinates(canvas, config) {
    const ctx = canvas.getContext("2d");
    const axes = config.parameters.concat([config.metric]);
    const runs = config.runs;
    const width = canvas.width, height = canvas.height, top = 30, bottom = height - 30;
    const left = 60, right = width - 60;
    ctx.font = "12px system-ui, sans-serif";
    if (!runs.length || !config.metric) {
      ctx.fillText("no children yet", left, top + 20);
      return;
    }
    const scales = axes.map(function (axis, i) {
      const values = runs.map(function (r) {
        return i === axes.length - 1 ? r.value : r.params[axis];
      }).filter(function (v) { return v !== null && v !== undefined; });
      const numeric = values.every(function (v) { return typeof v === "number"; });
      if (numeric && values.length) {
        const lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
        return {numeric: true, lo: lo, hi: hi, at: function (v) {
          return hi === lo ? (top + bottom) / 2 : bottom - (v - lo) / (hi - lo) * (bottom - top);
        }};
      }
      const levels = Array.from(new Set(values.map(String)));
      return {numeric: false, levels: levels, at: function (v) {
        const k = levels.indexOf(String(v));
        return levels.length < 2 ? (top + bottom) / 2 :
          bottom - k / (levels.length - 1) * (bottom - top);
      }};
    });
    const xs = axes.map(function (_, i) {
      return axes.length < 2 ? left : left + i * (right - left) / (axes.length - 1);
    });
    const metricScale = scales[scales.length - 1];
    function color(value) {
      if (value === null || !metricScale.numeric) return "rgba(120,120,120,0.5)";
      let f = metricScale.hi === metricScale.lo ? 1 :
        (value - metricScale.lo) / (metricScale.hi - metricScale.lo);
      if (config.goal.indexOf("min") === 0) f = 1 - f;
      return "hsla(" + Math.round(f * 120) + ", 70%, 42%, 0.85)";
    }
    runs.forEach(function (run) {
      ctx.strokeStyle = color(run.value);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let drawn = false;
      axes.forEach(function (axis, i) {
        const v = i === axes.length - 1 ? run.value : run.params[axis];
        if (v === null || v === undefined) { drawn = false; return; }
        const y = scales[i].at(v);
        if (drawn) ctx.lineTo(xs[i], y); else ctx.moveTo(xs[i], y);
        drawn = true;
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#111";
    ctx.strokeStyle = "#444";
    ctx.lineWidth = 1;
    axes.forEach(function (axis, i) {
      ctx.beginPath();
      ctx.moveTo(xs[i], top);
      ctx.lineTo(xs[i], bottom);
      ctx.stroke();
      ctx.textAlign = "center";
      ctx.fillText(axis, xs[i], top - 12);
      const s = scales[i];
      ctx.textAlign = "left";
      if (s.numeric) {
        ctx.fillText(String(Number(s.hi.toPrecision(4))), xs[i] + 4, top + 4);
        ctx.fillText(String(Number(s.lo.toPrecision(4))), xs[i] + 4, bottom);
      } else {
        s.levels.forEach(function (level) { ctx.fillText(level, xs[i] + 4, s.at(level) + 4); });
      }
    });
    canvas.dataset.runs = String(runs.length);
  }

  return {metricsPage: metricsPage, followLogs: followLogs,
          parallelCoordinates: parallelCoordinates, charts: charts, smooth: smooth};
})();
