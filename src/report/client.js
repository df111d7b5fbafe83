// The report page's script (runs in the browser; read from this file and inlined by html.ts):
// draws the line charts with uPlot and the ROSE mask heat maps on canvases, from the inlined JSON.
(() => {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var width = () => Math.max(320, Math.min(560, document.body.clientWidth - 40));

  // Union of the runs' x values; each run's series gets null where it has no record.
  function align(runs, pick) {
    var xs = {};
    runs.forEach((r) => {
      var p = pick(r);
      if (p)
        p.x.forEach((x) => {
          xs[x] = true;
        });
    });
    var x = Object.keys(xs)
      .map(Number)
      .sort((a, b) => a - b);
    var idx = {};
    x.forEach((v, i) => {
      idx[v] = i;
    });
    var cols = runs.map((r) => {
      var col = x.map(() => null);
      var p = pick(r);
      if (p)
        p.x.forEach((v, i) => {
          col[idx[v]] = p.y[i];
        });
      return col;
    });
    return [x].concat(cols);
  }

  // Tick labels that stay readable for learning rates (1e-5) and losses alike.
  function fmt(v) {
    if (v === null || v === undefined) return "";
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a < 1e-3 || a >= 1e5) return v.toExponential(1);
    return String(+v.toPrecision(3));
  }
  var values = (_u, splits) => splits.map(fmt);

  function chart(parent, title, xLabel, runs, pick, opts) {
    var present = runs.filter((r) => {
      var p = pick(r);
      return p?.y.some((v) => v !== null);
    });
    if (!present.length) return;
    var box = document.createElement("div");
    box.className = "chart";
    box.setAttribute("data-title", title);
    box.setAttribute("data-colors", present.map((r) => r.color).join(","));
    parent.appendChild(box);
    var series = [{ label: xLabel }].concat(
      present.map((r) => ({
        label: r.name,
        stroke: r.color,
        width: 2,
        spanGaps: true,
        points: { show: opts?.points, size: 6, fill: r.color },
      })),
    );
    new uPlot(
      {
        title: title,
        width: width(),
        height: 260,
        series: series,
        scales: { x: { time: false }, y: opts?.log ? { distr: 3 } : {} },
        axes: [{ label: xLabel }, { size: 60, values: values }],
        legend: { live: true },
      },
      align(present, pick),
      box,
    );
  }

  var train = document.getElementById("train-charts");
  (data.trainKeys || []).forEach((k) => {
    chart(train, k.title, "step", data.runs, (r) => r.train[k.key], { log: k.log });
  });
  var ev = document.getElementById("eval-charts");
  (data.evalKeys || []).forEach((k) => {
    chart(ev, k, data.evalX, data.runs, (r) => r.eval[k], { points: true });
  });

  // ROSE masks: one row per tensor, one column per step (or bin of steps), colour = mask value.
  data.runs.forEach((r) => {
    var m = r.masks;
    if (!m) return;
    var canvas = document.getElementById(`masks-${r.id}`);
    if (!canvas) return;
    var rows = m.tensors.length,
      cols = m.steps.length;
    var labelW = 230,
      top = 8,
      rh = Math.max(3, Math.min(14, Math.floor(560 / rows)));
    var cw = Math.max(1, Math.min(8, Math.floor(900 / cols)));
    canvas.width = labelW + cols * cw + 10;
    canvas.height = top + rows * rh + 34;
    var g = canvas.getContext("2d");
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.font = `${Math.min(11, rh)}px sans-serif`;
    g.textBaseline = "middle";
    for (let i = 0; i < rows; i++) {
      g.fillStyle = "#333";
      if (rh >= 7) g.fillText(m.tensors[i], 2, top + i * rh + rh / 2, labelW - 6);
      for (let j = 0; j < cols; j++) {
        const v = m.values[i][j];
        // Light grey (not updated) to dark blue (updated); warm-up columns (mask not applied) faded.
        const c = Math.round(240 - 200 * v),
          b = Math.round(240 - 90 * v);
        g.globalAlpha = m.applied[j] ? 1 : 0.35;
        g.fillStyle = `rgb(${c},${c},${b})`;
        g.fillRect(labelW + j * cw, top + i * rh, cw, rh - (rh > 4 ? 1 : 0));
      }
      g.globalAlpha = 1;
    }
    g.fillStyle = "#333";
    g.textBaseline = "top";
    var ticks = 6;
    for (let t = 0; t <= ticks; t++) {
      const col = Math.min(cols - 1, Math.round((t * (cols - 1)) / ticks));
      const x = labelW + col * cw + cw / 2;
      g.fillRect(x, top + rows * rh + 2, 1, 5);
      g.fillText(String(m.steps[col]), x - 8, top + rows * rh + 9);
    }
    g.fillText("step", labelW - 30, top + rows * rh + 9);
  });
  document.body.setAttribute("data-drawn", "true");
})();
