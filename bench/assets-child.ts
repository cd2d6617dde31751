// Child process of assets.bench.ts: runs the asset stage of the build (scan, limit check, hash + stage,
// manifest) the way buildProject does, twice, and reports times and its own peak RSS.
import { checkAssets, resolveLimits } from '../src/pipeline/asset-limits';
import { scanAssets } from '../src/pipeline/asset-scan';
import { stageAssets } from '../src/pipeline/asset-stage';
import { HashCache } from '../src/pipeline/hash-cache';

async function stage(
  src: string,
  out: string,
  cacheFile: string,
): Promise<{ ms: number; hashed: number; violations: number }> {
  const started = process.hrtime.bigint();
  const scan = scanAssets(src);
  const check = checkAssets(scan, resolveLimits({}), 1);
  const result = await stageAssets({ scan, outDir: out, cachePolicy: [], hashCache: new HashCache(cacheFile) });
  return {
    ms: Number(process.hrtime.bigint() - started) / 1e6,
    hashed: result.hashed,
    violations: check.violations.length,
  };
}

async function main(): Promise<void> {
  const [src, out, cacheFile] = process.argv.slice(2);
  const full = await stage(src, out, cacheFile);
  const rebuild = await stage(src, out, cacheFile);
  console.log(JSON.stringify({ full, rebuild, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
