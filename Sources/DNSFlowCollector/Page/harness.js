// Replays user actions listed in the URL's fragment, for tests in headless Chromium that can only load a URL and dump
// the DOM: `#harness=click:tr.lookup|brush:rateChart:<from ms>:<until ms>`. Each action is a real DOM event through the page's own
// handlers, then waits for the panels to finish loading. Without the fragment it does nothing.
"use strict";

const PageHarness = (() => {
  const settled = () => new Promise(resolve => {
    const poll = () => (document.body.dataset.ready === "1" ? resolve() : setTimeout(poll, 20));
    setTimeout(poll, 20);
  });

  function pointer(target, type, x, y) {
    target.dispatchEvent(new PointerEvent(type, { bubbles: true, clientX: x, clientY: y, pointerId: 1 }));
  }

  const actions = {
    click(selector) {
      const element = document.querySelector(selector);
      if (!element) throw new Error("no element matches " + selector);
      element.click();
    },
    // A drag from one time to another, at the pixels the chart draws them.
    brush(chart, from, to) {
      const svg = document.querySelector(`#${chart} svg`);
      if (!svg) throw new Error("no chart " + chart);
      const box = svg.getBoundingClientRect();
      const span = +svg.dataset.steps * +svg.dataset.step;
      // The plot spans the viewBox from x=44 to x=592 of 600.
      const at = ms => box.left + ((44 + ((ms - +svg.dataset.start) / span) * 548) / 600) * box.width;
      const y = box.top + box.height / 2;
      pointer(svg, "pointerdown", at(+from), y);
      pointer(svg, "pointermove", at(+to), y);
      pointer(svg, "pointerup", at(+to), y);
    },
  };

  async function run() {
    const match = location.hash.match(/^#harness=(.*)$/);
    if (!match) return;
    const log = [];
    try {
      for (const step of decodeURIComponent(match[1]).split("|").filter(Boolean)) {
        const [name, ...args] = step.split(":");
        actions[name](...args);
        await settled();
        log.push(step);
      }
      document.body.dataset.harness = "done";
    } catch (error) {
      document.body.dataset.harness = "failed: " + error.message;
    }
    document.body.dataset.harnessLog = log.join("|");
  }

  return { run };
})();
