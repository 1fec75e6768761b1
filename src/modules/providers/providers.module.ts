import { Module } from '@nestjs/common';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';

@Module({ providers: [ProviderRegistry], exports: [ProviderRegistry] })
export class ProvidersModule {}
