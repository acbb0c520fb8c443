// The mood trajectory chart of the web chat (drawn by hand in SVG to keep the page small and
// offline): the character's pleasure, arousal and dominance per turn position in [-1, 1], its
// strongest emotion above each point, and the user's detected emotion as diamonds at its valence.
'use strict';

window.kindredMoodChart = (() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const DIMENSIONS = ['pleasure', 'arousal', 'dominance'];
  const CHART = { width: 360, height: 220, left: 30, right: 12, top: 30, bottom: 22, labelGap: 46 };

  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const clamp = (v) => Math.max(-1, Math.min(1, Number(v) || 0));
  const fixed = (v) => Number(v).toFixed(2);
  const percent = (p) => `${Math.round(Number(p) * 100)}%`;

  // Draws `trajectory` (AffectPoint[], docs/SERVER_API.md) into the <svg> `chart`.
  function render(chart, trajectory, emptyText) {
    const { width, height, left, right, top, bottom } = CHART;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const y = (v) => top + ((1 - clamp(v)) / 2) * plotH;
    const nodes = [];

    for (const v of [-1, -0.5, 0, 0.5, 1]) {
      nodes.push(svg('line', { class: v === 0 ? 'axis' : 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      nodes.push(svg('text', { class: 'tick', x: left - 4, y: y(v) + 3, 'text-anchor': 'end' }, String(v)));
    }

    const points = (trajectory || []).filter((p) => p && p.character)
      .sort((a, b) => a.position - b.position);
    if (points.length === 0) {
      nodes.push(svg('text', { class: 'empty', x: left + plotW / 2, y: top + plotH / 2 - 8, 'text-anchor': 'middle' },
        emptyText));
      chart.replaceChildren(...nodes);
      chart.setAttribute('aria-label', "The character's mood per turn: nothing to show yet");
      return;
    }

    const first = points[0].position;
    const span = points[points.length - 1].position - first;
    const x = (position) => (span === 0 ? left + plotW / 2 : left + ((position - first) / span) * plotW);
    // Labels are thinned out so that they never overlap; every point keeps its marker and tooltip.
    const spacing = points.length > 1 ? plotW / (points.length - 1) : plotW;
    const labelEvery = Math.max(1, Math.ceil(CHART.labelGap / spacing));

    for (const dimension of DIMENSIONS) {
      const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.position).toFixed(1)},${y(p.character[dimension]).toFixed(1)}`);
      nodes.push(svg('path', { class: `line ${dimension}`, d: d.join(' ') }));
    }

    points.forEach((p, i) => {
      const c = p.character;
      const px = x(p.position);
      const group = svg('g', { class: 'point', 'data-testid': 'mood-point', 'data-position': p.position,
        'data-role': p.role || '', 'data-top-emotion': c.top_emotion || '' });
      group.append(svg('title', {}, `turn ${p.position} (${p.role}): pleasure ${fixed(c.pleasure)}, ` +
        `arousal ${fixed(c.arousal)}, dominance ${fixed(c.dominance)}` +
        (c.top_emotion ? `; ${c.top_emotion} ${percent(c.top_emotion_p)}` : '')));
      for (const dimension of DIMENSIONS) {
        group.append(svg('circle', { class: `dot ${dimension}`, cx: px, cy: y(c[dimension]), r: 2.6 }));
      }
      if (c.top_emotion) {
        group.append(svg('circle', { class: 'emotion-marker', cx: px, cy: top - 16, r: 2.4 }));
        if (i % labelEvery === 0) {
          // The first and last labels are anchored inward so that they stay inside the chart.
          const anchor = points.length === 1 ? 'middle' : i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle';
          group.append(svg('text', { class: 'emotion-label', x: px, y: top - 21, 'text-anchor': anchor }, c.top_emotion));
        }
      }
      if (i % labelEvery === 0) {
        group.append(svg('text', { class: 'tick', x: px, y: height - 6, 'text-anchor': 'middle' }, String(p.position)));
      }
      nodes.push(group);

      if (p.user_emotion) {
        const e = p.user_emotion;
        const uy = y(e.pleasure);
        const s = 4.5;
        const marker = svg('path', { class: 'user-marker', 'data-testid': 'user-emotion-marker',
          'data-position': p.position, d: `M${px},${uy - s} L${px + s},${uy} L${px},${uy + s} L${px - s},${uy} Z` });
        marker.append(svg('title', {}, `turn ${p.position}, you: ${e.label} ${percent(e.confidence)}` +
          (p.intent ? `; intent ${p.intent.name}` : '')));
        nodes.push(marker);
      }
    });

    chart.replaceChildren(...nodes);
    const last = points[points.length - 1].character;
    chart.setAttribute('aria-label', `The character's mood over ${points.length} turns; latest: ` +
      `pleasure ${fixed(last.pleasure)}, arousal ${fixed(last.arousal)}, dominance ${fixed(last.dominance)}` +
      (last.top_emotion ? `, strongest emotion ${last.top_emotion}` : ''));
  }

  return { render };
})();
