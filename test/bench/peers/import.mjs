import QuantumCircuit from 'quantum-circuit';
import { readFileSync } from 'node:fs';
const source = readFileSync(process.argv[2], 'utf8');
const started = performance.now();
const circuit = new QuantumCircuit();
let failed;
circuit.importQASM(source, (errors) => {
  if (errors && errors.length) failed = errors;
});
if (failed) {
  console.error(JSON.stringify(failed.slice(0, 3)));
  process.exit(1);
}
console.log(performance.now() - started);
