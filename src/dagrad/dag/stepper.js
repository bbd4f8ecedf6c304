/* dagrad backprop stepper: steps through the forward and backward passes of one DAG.
   The data is the JSON block #dg-data; everything it holds is shown with textContent only. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("dg-data").textContent);
  var nodes = data.nodes;
  var edges = data.edges;
  var steps = data.steps;
  var firstBackward = steps.findIndex(function (s) { return s.phase === "backward"; });
  var current = -1;
  var timer = null;
  var quiz = data.quiz || null;  // quiz mode: questions asked before their step is shown

  var ui = data.ui || {};  // the page's words in its language, "{name}" filled in here
  function T(key, args) {
    var s = ui[key] !== undefined ? String(ui[key]) : key;
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return args && args[k] !== undefined && args[k] !== null ? String(args[k]) : m;
    });
  }
  function $(id) { return document.getElementById(id); }
  function part(id, row) { return $("a_" + id + "-" + row) || $(id + "-" + row); }
  function toggle(el, cls, on) { if (el) { el.classList.toggle(cls, !!on); } }
  function bar(name) { return name.slice(0, 1) + "\u0304" + name.slice(1); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function setData(e, key, value) {
    if (!e) { return; }
    if (value === null || value === undefined) { e.removeAttribute("data-" + key); }
    else { e.setAttribute("data-" + key, String(value)); }
  }
  function asAttr(v) { return typeof v === "number" ? String(v) : JSON.stringify(v); }

  // ----- the page's elements -------------------------------------------------------------
  var outName = nodes[data.output].name;
  nodes.forEach(function (n, i) {
    n.index = i;
    n.el = $(n.id);
    n.valueEl = part(n.id, "value");
    n.adjEl = part(n.id, "adjoint");
    if (n.el) { n.el.setAttribute("data-node", n.name); n.el.classList.add("dg-node"); }
  });
  edges.forEach(function (e, k) {
    e.index = k;
    e.el = $(e.id);
    e.valueEl = part(e.id, "value");
    e.formulaEl = part(e.id, "formula");
    if (e.el) { e.el.classList.add("dg-edge"); }
  });

  var tbody = $("dg-table").querySelector("tbody");
  nodes.forEach(function (n) {
    if (n.kind === "const") { return; }
    var tr = el("tr");
    tr.setAttribute("data-node", n.name);
    tr.appendChild(el("td", "dg-name", n.name));
    n.valueCell = tr.appendChild(el("td", "dg-val", ""));
    n.adjCell = tr.appendChild(el("td", "dg-adj", ""));
    n.row = tr;
    tbody.appendChild(tr);
  });

  var list = $("dg-steps");
  var items = steps.map(function (s, i) {
    if (i === 0 || s.phase !== steps[i - 1].phase) {
      list.appendChild(el("li", "dg-steps-head", s.phase === "forward" ? T("forward_pass")
        : T("backward_head")));
    }
    var li = el("li", "dg-step dg-step-" + s.phase);
    li.setAttribute("data-step", String(i));
    li.appendChild(el("span", "dg-step-no", String(i + 1)));
    li.appendChild(el("span", "dg-step-body", s.text));
    li.addEventListener("click", function () { stop(); go(i); });
    list.appendChild(li);
    return li;
  });
  if (!steps.length) { list.appendChild(el("li", "dg-steps-head", T("nothing"))); }

  // ----- quiz mode: which questions each step asks, what was answered, the score ------------
  var asks = {};        // step index -> question indices
  var answered = [];    // per question: null (open), "right" or "shown"
  var tries = { right: 0, wrong: 0, shown: 0, hints: 0 };
  var edgeAsked = {};   // edge index -> its question
  var adjointAsked = {};  // node index -> its question
  if (quiz) {
    quiz.questions.forEach(function (q, i) {
      (asks[q.step] = asks[q.step] || []).push(i);
      answered.push(null);
      if (q.kind === "edge") { edgeAsked[q.edge] = i; } else { adjointAsked[q.node] = i; }
    });
  }
  function openQuestion(k) {  // the first unanswered question of step k, or -1
    var qs = asks[k] || [];
    for (var i = 0; i < qs.length; i++) { if (answered[qs[i]] === null) { return qs[i]; } }
    return -1;
  }
  function lastReachable() {  // no step past the first one with an open question
    for (var k = 0; k < steps.length; k++) { if (openQuestion(k) >= 0) { return k; } }
    return steps.length - 1;
  }
  function masked(k) { return !!quiz && openQuestion(k) >= 0; }
  function edgeHidden(k) { return edgeAsked[k] !== undefined && answered[edgeAsked[k]] === null; }
  function adjointHidden(i) {
    return adjointAsked[i] !== undefined && answered[adjointAsked[i]] === null;
  }

  // a tiny arithmetic reader (never eval): numbers, + − * / ^ ** ( ), unary signs
  function readNumber(text) {
    var src = String(text).replace(/[−–]/g, "-").replace(/[·×⋅]/g, "*").replace(/\s+/g, "");
    var pos = 0;
    if (!src.length || src.length > 200) { return NaN; }
    function peek(t) { return src.substr(pos, t.length) === t; }
    function expr() {
      var v = term();
      while (pos < src.length && (peek("+") || peek("-"))) {
        var op = src[pos++];
        var w = term();
        v = op === "+" ? v + w : v - w;
      }
      return v;
    }
    function term() {
      var v = unary();
      while (pos < src.length && (peek("*") && !peek("**") || peek("/"))) {
        var op = src[pos++];
        var w = unary();
        v = op === "*" ? v * w : v / w;
      }
      return v;
    }
    function unary() {
      if (peek("-")) { pos++; return -unary(); }
      if (peek("+")) { pos++; return unary(); }
      return power();
    }
    function power() {
      var base = atom();
      if (peek("^")) { pos += 1; return Math.pow(base, unary()); }
      if (peek("**")) { pos += 2; return Math.pow(base, unary()); }
      return base;
    }
    function atom() {
      if (peek("(")) {
        pos++;
        var v = expr();
        if (!peek(")")) { throw new Error("bracket"); }
        pos++;
        return v;
      }
      var m = /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(pos));
      if (!m) { throw new Error("number"); }
      pos += m[0].length;
      return parseFloat(m[0]);
    }
    try {
      var v = expr();
      return pos === src.length ? v : NaN;
    } catch (err) { return NaN; }
  }
  function close(a, b) {
    return Math.abs(a - b) <= quiz.rtol * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
  }

  function showScore() {
    var score = $("dg-score");
    var asked = answered.filter(function (a) { return a !== null; }).length;
    score.hidden = !quiz;
    score.textContent = T("score", { right: tries.right, answered: asked,
      total: quiz.questions.length, wrong: tries.wrong, hints: tries.hints,
      shown: tries.shown });
    ["right", "wrong", "hints", "shown"].forEach(function (k) { setData(score, k, tries[k]); });
    setData(score, "answered", asked);
  }
  function feedback(verdict, text) {
    var f = $("dg-feedback");
    f.textContent = text;
    setData(f, "verdict", verdict);
  }
  function check() {
    var qi = openQuestion(current);
    if (qi < 0) { return; }
    var q = quiz.questions[qi];
    var typed = $("dg-answer").value;
    var v = readNumber(typed);
    if (!isFinite(v)) {
      feedback("unreadable", T("unreadable", { typed: typed }));
      return;
    }
    if (close(v, q.answer)) {
      answered[qi] = "right";
      tries.right += 1;
      feedback("right", T("right", { prompt: q.prompt, answer: fmt(q.answer) }));
      $("dg-answer").value = "";
      $("dg-hint").hidden = true;
      render();
    } else {
      tries.wrong += 1;
      feedback("wrong", T($("dg-hint").hidden ? "wrong_hint" : "wrong",
        { typed: fmt(v), prompt: q.prompt }));
      showScore();
    }
  }
  function fmt(v) { return String(+v.toPrecision(12)).replace("-", "−"); }
  if (quiz) {
    $("dg-check").addEventListener("click", check);
    $("dg-answer").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); check(); }
    });
    $("dg-hint-button").addEventListener("click", function () {
      var qi = openQuestion(current);
      if (qi < 0) { return; }
      var h = $("dg-hint");
      if (h.hidden) { tries.hints += 1; }
      h.textContent = T("hint", { hint: quiz.questions[qi].hint });
      h.hidden = false;
      showScore();
    });
    $("dg-reveal").addEventListener("click", function () {
      var qi = openQuestion(current);
      if (qi < 0) { return; }
      var q = quiz.questions[qi];
      answered[qi] = "shown";
      tries.shown += 1;
      feedback("shown", T("shown", { prompt: q.prompt, answer: fmt(q.answer) }));
      $("dg-hint").hidden = true;
      render();
    });
  }

  var forwardCount = firstBackward < 0 ? steps.length : firstBackward;
  var backwardCount = steps.length - forwardCount;
  var shownNodes = nodes.filter(function (n) { return n.shown; }).length;
  var shownEdges = edges.filter(function (e) { return e.shown; }).length;
  $("dg-gradient").textContent = T("counts", { nodes: shownNodes, edges: shownEdges,
    forward: forwardCount, backward: backwardCount }) +
    (backwardCount ? "" : " " + T("no_backward"));

  // ----- the state after step k: values known, adjoints (partial or final), edges used ------
  function stateAt(k) {
    var st = { computed: {}, adj: {}, used: {} };
    nodes.forEach(function (n, i) { if (n.kind === "const") { st.computed[i] = true; } });
    for (var i = 0; i <= k; i++) {
      var s = steps[i];
      if (s.phase === "forward") { st.computed[s.node] = true; continue; }
      if (i === firstBackward) { nodes.forEach(function (n, j) { st.computed[j] = true; }); }
      var a = st.adj[s.node] || (st.adj[s.node] = { sum: 0, terms: [], final: false });
      if (s.kind === "seed") { a.sum = 1; a.final = true; }
      else if (s.kind === "zero") { a.sum = 0; a.final = true; }
      else if (s.kind === "sum") { a.final = true; }
      else if (s.kind === "edge") {
        a.terms.push(s.contribution_text);
        a.sum = (typeof s.contribution === "number" && a.sum !== null) ? a.sum + s.contribution
          : null;
        a.final = s.final;
        st.used[s.edge] = true;
      }
    }
    return st;
  }

  function adjointText(n, a) {
    if (!a) { return ""; }
    if (a.final) { return n.adjoint_text; }
    return a.terms.join(" + ") + " + …";
  }

  // ----- drawing the state ------------------------------------------------------------------
  function render() {
    var st = stateAt(current);
    var step = current >= 0 ? steps[current] : null;
    var edge = step && step.edge !== null ? edges[step.edge] : null;
    nodes.forEach(function (n, i) {
      var done = !!st.computed[i];
      var a = st.adj[i];
      var fin = !!(a && a.final);
      toggle(n.el, "dg-pending", !done);
      toggle(n.valueEl, "dg-hidden", !done);
      var hideAdj = quiz && adjointHidden(i);
      if (hideAdj) { fin = false; }
      toggle(n.adjEl, "dg-hidden", !fin);
      toggle(n.el, "dg-now", step && step.node === i);
      toggle(n.el, "dg-now-back", step && step.phase === "backward" && step.node === i);
      toggle(n.el, "dg-from", edge && edge.target === i);
      toggle(n.el, "dg-final", fin);
      var adjValue = fin ? (a.sum !== null && data.scalar ? a.sum : n.adjoint) : null;
      [n.el, n.row].forEach(function (e) {
        setData(e, "value", done && n.value !== null ? asAttr(n.value) : null);
        setData(e, "computed", done ? "true" : null);
        setData(e, "adjoint", fin && adjValue !== null ? asAttr(adjValue) : null);
        setData(e, "partial", a && !fin && !hideAdj && a.sum !== null ? asAttr(a.sum) : null);
      });
      if (n.row) {
        n.valueCell.textContent = done ? n.value_text : "·";
        n.adjCell.textContent = (hideAdj && a ? "?" : adjointText(n, a)) || "·";
        toggle(n.row, "dg-pending", !done);
        toggle(n.row, "dg-now", step && step.node === i);
        toggle(n.adjCell, "dg-partial", a && !fin);
      }
    });
    edges.forEach(function (e, k) {
      var done = !!st.computed[e.target];
      toggle(e.el, "dg-pending", !done);
      var hideEdge = quiz && edgeHidden(k);
      toggle(e.valueEl, "dg-hidden", !done || hideEdge);
      toggle(e.formulaEl, "dg-hidden", hideEdge);
      toggle(e.el, "dg-used", st.used[k] && !hideEdge);
      toggle(e.el, "dg-now", edge && edge.index === k);
    });
    items.forEach(function (li, i) {
      toggle(li, "dg-done", i < current);
      toggle(li, "dg-current", i === current);
      if (quiz) {
        toggle(li, "dg-masked", masked(i));
        li.querySelector(".dg-step-body").textContent = masked(i) ?
          T("masked") : steps[i].text;
      }
    });
    var cur = items[current];
    if (cur) {
      var top = cur.offsetTop;
      if (top < list.scrollTop || top + cur.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    } else { list.scrollTop = 0; }
    showStep(step);
    $("dg-back").disabled = current < 0;
    var last = quiz ? lastReachable() : steps.length - 1;
    $("dg-next").disabled = current >= last;
    $("dg-end").disabled = current >= last;
    $("dg-backward-pass").disabled = firstBackward < 0;
    document.body.setAttribute("data-step", String(current));
    document.body.setAttribute("data-phase", step ? step.phase : "start");
  }

  function showStep(step) {
    var phase = $("dg-phase");
    var done = current === steps.length - 1 && steps.length > 0;
    phase.textContent = !step ? T("ready") : T("phase_step", {
      phase: T(step.phase === "forward" ? "forward_pass" : "backward_pass"),
      k: current + 1, n: steps.length });
    phase.setAttribute("data-phase", step ? step.phase : "start");
    $("dg-step-text").textContent = step ? step.text : T("start");
    var note = step ? step.note : T("start_note");
    if (done && data.gradient) {
      note = (note ? note + " — " : "") + T("done", { gradient: data.gradient });
    }
    $("dg-step-note").textContent = note;
    $("dg-counter").textContent = (current + 1) + " / " + steps.length;
    if (!quiz) { return; }
    var qi = openQuestion(current);
    var box = $("dg-quiz");
    box.hidden = qi < 0;
    if (qi >= 0) {
      $("dg-step-text").textContent = T("your_turn", { prompt: quiz.questions[qi].prompt });
      $("dg-step-note").textContent = T("type_below");
      $("dg-question").textContent = quiz.questions[qi].prompt + " =";
      setData(box, "question", qi);
      setData(box, "kind", quiz.questions[qi].kind);
    }
    showScore();
  }

  // ----- moving -----------------------------------------------------------------------------
  function go(k) {
    var last = quiz ? lastReachable() : steps.length - 1;
    current = Math.max(-1, Math.min(last, k));
    if (quiz) { feedback(null, ""); $("dg-hint").hidden = true; }
    render();
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    $("dg-play").classList.remove("dg-playing");
    $("dg-play-label").textContent = T("play");
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current >= steps.length - 1) { go(-1); }
    $("dg-play").classList.add("dg-playing");
    $("dg-play-label").textContent = T("pause");
    timer = setInterval(function () {
      if (current >= steps.length - 1 || (quiz && current >= lastReachable())) {
        stop();
        return;
      }
      go(current + 1);
    }, 900);
  }

  $("dg-next").addEventListener("click", function () { stop(); go(current + 1); });
  $("dg-back").addEventListener("click", function () { stop(); go(current - 1); });
  $("dg-end").addEventListener("click", function () { stop(); go(steps.length - 1); });
  $("dg-reset").addEventListener("click", function () { stop(); go(-1); });
  $("dg-forward-pass").addEventListener("click", function () { stop(); go(0); });
  $("dg-backward-pass").addEventListener("click", function () {
    stop();
    if (firstBackward >= 0) { go(firstBackward); }
  });
  $("dg-play").addEventListener("click", play);
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var onButton = ev.target && ev.target.tagName === "BUTTON";
    if (ev.target && ev.target.tagName === "INPUT") { return; }  // typing an answer
    if (ev.key === "ArrowRight") { stop(); go(current + 1); }
    else if (ev.key === "ArrowLeft") { stop(); go(current - 1); }
    else if (ev.key === "Home") { stop(); go(-1); }
    else if (ev.key === "End") { stop(); go(steps.length - 1); }
    else if (ev.key === " " && !onButton) { play(); }
    else { return; }
    ev.preventDefault();
  });

  // ----- hover: formula and value of a node or an edge ------------------------------------
  var tip = $("dg-tip");
  function tipLine(cls, text) { tip.appendChild(el("div", cls, text)); }

  function nodeTip(n) {
    var st = stateAt(current);
    var a = st.adj[n.index];
    tipLine("dg-tip-head", n.name + "   " + (n.op ? "(" + n.op + ")" : n.kind === "leaf" ?
      T("input") : T("constant")));
    if (n.kind === "op") { tipLine("dg-tip-formula", n.name + " = " + n.formula); }
    if (n.shape) { tipLine("dg-tip-dim", T("shape", { shape: n.shape })); }
    tipLine("dg-tip-value", st.computed[n.index] ? T("value", { value: n.value_text }) :
      T("value_pending"));
    if (n.kind !== "const") {
      var label = T("adjoint", { bar: bar(n.name), out: outName, name: n.name });
      if (quiz && adjointHidden(n.index)) {
        tipLine("dg-tip-adjoint", T("quiz_hidden", { label: label }));
        return;
      }
      tipLine("dg-tip-adjoint", a && a.final ? label + " = " + n.adjoint_text :
        a ? label + " = " + adjointText(n, a) + "  " + T("partial")
          : T("pending", { label: label }));
    }
  }

  function edgeTip(e) {
    var st = stateAt(current);
    var src = nodes[e.source];
    tipLine("dg-tip-head", src.name + " → " + nodes[e.target].name);
    if (!e.gradient) {
      tipLine("dg-tip-dim", src.kind === "const" ? T("constant_edge") : T("no_derivative"));
      return;
    }
    if (quiz && edgeHidden(e.index)) {
      tipLine("dg-tip-formula", T("quiz_hidden", { label: e.label }));
      return;
    }
    tipLine("dg-tip-formula", e.label + " = " + e.formula);
    if (e.value_text !== null && e.value_text !== e.formula) {
      tipLine("dg-tip-value", st.computed[e.target] ? T("at_point", { value: e.value_text })
        : T("value_pending"));
    }
    if (e.kind !== "scalar") { tipLine("dg-tip-dim", T("kind_derivative", { kind: e.kind })); }
    if (e.latex) { tipLine("dg-tip-latex", "LaTeX: " + e.latex); }
    if (st.used[e.index]) {
      var s = steps.find(function (x) { return x.edge === e.index; });
      if (s) { tipLine("dg-tip-adjoint", s.text); }
    }
  }

  function showTip(ev, fill) {
    tip.textContent = "";
    fill();
    tip.hidden = false;
    moveTip(ev);
  }
  function moveTip(ev) {
    var x = ev.clientX + 16;
    var y = ev.clientY + 16;
    var w = tip.offsetWidth;
    var h = tip.offsetHeight;
    if (x + w > window.innerWidth - 8) { x = Math.max(8, ev.clientX - w - 16); }
    if (y + h > window.innerHeight - 8) { y = Math.max(8, ev.clientY - h - 16); }
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hide() { tip.hidden = true; }

  nodes.forEach(function (n) {
    if (!n.el) { return; }
    n.el.addEventListener("mouseenter", function (ev) {
      n.el.classList.add("dg-hover");
      showTip(ev, function () { nodeTip(n); });
    });
    n.el.addEventListener("mousemove", moveTip);
    n.el.addEventListener("mouseleave", function () { n.el.classList.remove("dg-hover"); hide(); });
  });
  edges.forEach(function (e) {
    if (!e.el) { return; }
    e.el.addEventListener("mouseenter", function (ev) {
      e.el.classList.add("dg-hover");
      showTip(ev, function () { edgeTip(e); });
    });
    e.el.addEventListener("mousemove", moveTip);
    e.el.addEventListener("mouseleave", function () { e.el.classList.remove("dg-hover"); hide(); });
  });

  window.dagradStepper = { go: go, steps: steps.length, firstBackward: firstBackward,
    current: function () { return current; }, quiz: !!quiz, readNumber: readNumber };
  render();
}());
