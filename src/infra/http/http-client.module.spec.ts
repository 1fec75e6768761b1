import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Global, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { APP_CONFIG, loadAppConfig } from 'src/config/env.config';
import { HttpClientModule } from 'src/infra/http/http-client.module';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';

@Injectable()
class FirstUser {
  constructor(readonly http: UpstreamHttpClient) {}
}
@Module({ providers: [FirstUser] })
class FirstModule {}

@Injectable()
class SecondUser {
  constructor(readonly http: UpstreamHttpClient) {}
}
@Module({ providers: [SecondUser] })
class SecondModule {}

@Global()
@Module({
  providers: [{ provide: APP_CONFIG, useValue: loadAppConfig({}) }],
  exports: [APP_CONFIG],
})
class ConfigStub {}

@Module({ imports: [ConfigStub, HttpClientModule, FirstModule, SecondModule] })
class RootModule {}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('HttpClientModule', () => {
  it('gives every module the same UpstreamHttpClient', async () => {
    const moduleRef = await NestFactory.createApplicationContext(RootModule, { logger: false });
    const first = moduleRef.get(FirstUser).http;
    expect(first).toBeInstanceOf(UpstreamHttpClient);
    expect(moduleRef.get(SecondUser).http).toBe(first);
    expect(moduleRef.get(UpstreamHttpClient, { strict: false })).toBe(first);
    await moduleRef.close();
  });

  it('is the only place in src that builds undici Agents or Pools (two Agents)', () => {
    const found: string[] = [];
    for (const file of sources(join(process.cwd(), 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/new (?:Agent|Pool)\(/g)) {
        found.push(`${file.slice(process.cwd().length + 1)}:${match[0]}`);
      }
      // Global fetch follows redirects and has its own pool: upstream calls go through the client.
      // (A bare `fetch()` is a local callback, e.g. the registry snapshot loader, not a network call.)
      if (/(?<![.\w])fetch\(\s*[^)\s]/.test(text))
        found.push(`${file.slice(process.cwd().length + 1)}:fetch(`);
      // undici's `request` is fine on one of the client's two pools, never on undici's global dispatcher.
      const requests = text.match(/\bawait request\(/g)?.length ?? 0;
      const onShared = text.match(/dispatcher: this\.http\.dispatcher\(/g)?.length ?? 0;
      if (/import \{[^}]*\brequest\b[^}]*\} from 'undici'/.test(text) && requests !== onShared) {
        found.push(`${file.slice(process.cwd().length + 1)}:request( without the shared dispatcher`);
      }
    }
    expect(found.sort()).toEqual([
      'src/infra/http/upstream-http.client.ts:new Agent(',
      'src/infra/http/upstream-http.client.ts:new Agent(',
    ]);
  });
});
