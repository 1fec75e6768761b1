import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { ProductLifecycleGuard } from 'src/modules/products/product-lifecycle.guard';
import { ProductStateHolder } from 'src/modules/products/product-state.holder';
import { CatalogueController, ProductsController } from 'src/modules/products/products.controller';
import { ProductsRepository } from 'src/modules/products/products.repository';
import { ProductsService } from 'src/modules/products/products.service';
import { RoutingModule } from 'src/modules/routing/routing.module';

/** API products and their lifecycle; the developer portal's catalogue. */
@Module({
  imports: [AuditModule, AuthModule, RoutingModule],
  controllers: [ProductsController, CatalogueController],
  providers: [ProductsRepository, ProductStateHolder, ProductsService, ProductLifecycleGuard],
  // The pipeline's lifecycle stage (Deprecation/Sunset headers, 410) is resolved in the inference module.
  exports: [ProductStateHolder, ProductLifecycleGuard],
})
export class ProductsModule {}
