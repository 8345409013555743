// chart.js: a small live line chart on <canvas> for message rates. It keeps
// the last `size` samples of each series and redraws on every push; the
// colours come from the page's CSS (light and dark).

export class RateChart {
  constructor(label, series, size = 60) {
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.size = size;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
    this.canvas.height = 90;
    this.canvas.width = 320;
  }

  push(values) {
    this.series.forEach((s, i) => {
      s.values.push(values[i]);
      if (s.values.length > this.size) s.values.shift();
    });
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth || 320;
    const hgt = c.clientHeight || 90;
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(hgt * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(hgt * ratio);
    }
    const g = c.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, hgt);
    const css = getComputedStyle(c);
    const grid = css.getPropertyValue('--grid').trim() || '#8884';
    const text = css.getPropertyValue('--muted').trim() || '#888';
    let max = 1;
    for (const s of this.series) for (const v of s.values) if (v > max) max = v;
    max = niceCeil(max);
    const top = 14, bottom = hgt - 4, left = 2, right = w - 2;
    g.strokeStyle = grid;
    g.lineWidth = 1;
    g.beginPath();
    for (const f of [0, 0.5, 1]) {
      const y = Math.round(top + (bottom - top) * f) + 0.5;
      g.moveTo(left, y);
      g.lineTo(right, y);
    }
    g.stroke();
    g.fillStyle = text;
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'top';
    g.fillText(fmt(max) + '/s', left + 2, 0);
    const step = (right - left) / (this.size - 1);
    for (const s of this.series) {
      const n = s.values.length;
      if (n < 2) continue;
      g.strokeStyle = css.getPropertyValue(s.color).trim() || s.color;
      g.lineWidth = 1.75;
      g.beginPath();
      s.values.forEach((v, i) => {
        const x = right - (n - 1 - i) * step;
        const y = bottom - (bottom - top) * (v / max);
        if (i === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.stroke();
    }
  }
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmt(v) {
  return v >= 1e6 ? v / 1e6 + 'M' : v >= 1e3 ? v / 1e3 + 'k' : String(v);
}
