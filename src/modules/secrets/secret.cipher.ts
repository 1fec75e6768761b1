import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SealedSecret {
  keyVersion: number;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export class SecretCipherError extends Error {}

/**
 * AES-256-GCM with versioned master keys: new secrets are sealed with the current version; older
 * versions stay readable until re-encrypted (rotation). The secret's name is authenticated data, so a
 * ciphertext copied onto another name does not decrypt.
 */
export class SecretCipher {
  constructor(
    private readonly keys: ReadonlyMap<number, Buffer>,
    readonly currentVersion: number,
  ) {
    const current = keys.get(currentVersion);
    if (!current || current.length !== 32)
      throw new SecretCipherError('the current master key must be 32 bytes');
  }

  /** From GATEHOUSE_MASTER_KEY (+ _VERSION) and GATEHOUSE_MASTER_KEYS_PREVIOUS ("1:base64,2:base64"). */
  static fromConfig(current: string, version: number, previous: string | undefined): SecretCipher {
    const keys = new Map<number, Buffer>();
    for (const pair of (previous ?? '').split(',').filter(Boolean)) {
      const [v, k] = pair.split(':');
      keys.set(Number(v), Buffer.from(k, 'base64'));
    }
    keys.set(version, Buffer.from(current, 'base64'));
    return new SecretCipher(keys, version);
  }

  seal(name: string, plaintext: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentVersion)!, iv);
    cipher.setAAD(aad(name, this.currentVersion));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyVersion: this.currentVersion, iv, tag: cipher.getAuthTag(), ciphertext };
  }

  open(name: string, sealed: SealedSecret): string {
    const key = this.keys.get(sealed.keyVersion);
    if (!key) throw new SecretCipherError(`master key version ${sealed.keyVersion} is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
      decipher.setAAD(aad(name, sealed.keyVersion));
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // Never the underlying error: it could carry key material context.
      throw new SecretCipherError(`secret '${name}' failed authentication`);
    }
  }
}

function aad(name: string, version: number): Buffer {
  return Buffer.from(`gatehouse:provider-secret:${name}:v${version}`, 'utf8');
}
