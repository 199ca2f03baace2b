// Dead-code elimination: keeps the inputs and whatever the outputs reach.
import { Graph } from '../ir.js';

export function dce(graph: Graph): Graph {
  return new Graph(graph.inputs, graph.outputs);
}
