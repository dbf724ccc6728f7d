// test/run.ts collects test files from test/unit and test/api only; this brings the conformance
// suite (test/conformance/search-conformance.test.ts) into `npm test`.
import '../conformance/search-conformance.test.js';
