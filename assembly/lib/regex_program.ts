// Compiles a regex syntax tree to a Thompson-NFA program (parallel arrays
// op/x/y). Repetition copies its operand, so the size cap also bounds counts.

import {
  N_ALT,
  N_ANY,
  N_ANY_NOT_NL,
  N_ASSERT,
  N_CHAR,
  N_CLASS,
  N_CONCAT,
  N_EMPTY,
  N_REPEAT,
  Node,
} from "./regex_syntax";

export const MAX_PROGRAM: i32 = 5000;
const MAX_VISITS: i32 = 100000; // syntax-tree visits while compiling, e.g. for ((){1000}){1000}

// Instructions.
export const OP_CHAR: i32 = 0; // x, y: the character and its other case (x == y if none)
export const OP_CLASS: i32 = 1; // x: index into classes
export const OP_ANY: i32 = 2; // any character
export const OP_ANY_NOT_NL: i32 = 3; // any character but '\n'
export const OP_SPLIT: i32 = 4; // continue at x and at y
export const OP_JMP: i32 = 5; // continue at x
export const OP_ASSERT: i32 = 6; // x: AT_* kind; continue at pc + 1 if it holds
export const OP_MATCH: i32 = 7;

/** Emits the program; tooBig is set (and emission stops) past MAX_PROGRAM instructions. */
export class Compiler {
  op: Array<i32> = new Array<i32>(0);
  x: Array<i32> = new Array<i32>(0);
  y: Array<i32> = new Array<i32>(0);
  tooBig: bool = false;
  visits: i32 = 0; // node() calls: bounds work on repeats of empty-width nodes

  emit(op: i32, x: i32, y: i32): i32 {
    if (this.op.length >= MAX_PROGRAM) {
      this.tooBig = true;
      return this.op.length - 1;
    }
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  setX(pc: i32, v: i32): void {
    if (pc >= 0 && pc < this.x.length) this.x[pc] = v;
  }

  setY(pc: i32, v: i32): void {
    if (pc >= 0 && pc < this.y.length) this.y[pc] = v;
  }

  get here(): i32 {
    return this.op.length;
  }

  node(n: Node): void {
    if (this.tooBig) return;
    if (++this.visits > MAX_VISITS) {
      this.tooBig = true;
      return;
    }
    const k = n.kind;
    if (k == N_EMPTY) return;
    if (k == N_CHAR) {
      this.emit(OP_CHAR, n.a, n.b);
    } else if (k == N_CLASS) {
      this.emit(OP_CLASS, n.a, 0);
    } else if (k == N_ANY) {
      this.emit(OP_ANY, 0, 0);
    } else if (k == N_ANY_NOT_NL) {
      this.emit(OP_ANY_NOT_NL, 0, 0);
    } else if (k == N_ASSERT) {
      this.emit(OP_ASSERT, n.a, 0);
    } else if (k == N_CONCAT) {
      const kids = n.kids!;
      for (let i = 0; i < kids.length; i++) this.node(kids[i]);
    } else if (k == N_ALT) {
      this.alternation(n.kids!);
    } else if (k == N_REPEAT) {
      this.repeat(n.kids![0], n.a, n.b);
    }
  }

  alternation(kids: Array<Node>): void {
    // split L1, next; L1: k1; jmp end; next: split L2, next2; ...; last: kn; end:
    const jumps = new Array<i32>(0);
    for (let i = 0; i < kids.length; i++) {
      if (i < kids.length - 1) {
        const split = this.emit(OP_SPLIT, 0, 0);
        this.setX(split, this.here);
        this.node(kids[i]);
        jumps.push(this.emit(OP_JMP, 0, 0));
        this.setY(split, this.here);
      } else {
        this.node(kids[i]);
      }
      if (this.tooBig) return;
    }
    for (let i = 0; i < jumps.length; i++) this.setX(jumps[i], this.here);
  }

  repeat(kid: Node, lo: i32, hi: i32): void {
    for (let i = 0; i < lo; i++) {
      if (this.tooBig) return;
      this.node(kid);
    }
    if (hi < 0) {
      // kid*: L: split body, end; body: kid; jmp L; end:
      const loop = this.emit(OP_SPLIT, 0, 0);
      this.setX(loop, this.here);
      this.node(kid);
      this.emit(OP_JMP, loop, 0);
      this.setY(loop, this.here);
      return;
    }
    // Up to hi - lo optional copies, each allowed only after the previous one.
    const splits = new Array<i32>(0);
    for (let i = lo; i < hi; i++) {
      if (this.tooBig) return;
      const split = this.emit(OP_SPLIT, 0, 0);
      this.setX(split, this.here);
      splits.push(split);
      this.node(kid);
    }
    for (let i = 0; i < splits.length; i++) this.setY(splits[i], this.here);
  }
}
