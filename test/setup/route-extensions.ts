// Unit tests build route tables without booting the app: load the same compiler registrations the feature
// modules' Nest module files load, so `gatehouse.cache`, `moderation` and `limits` compile as in production.
import 'src/modules/cache/cache.route-extension';
import 'src/modules/moderation/moderation.route-extension';
import 'src/modules/limits/limits.route-extension';
