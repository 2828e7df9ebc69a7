// The project catalogue (PROJECTS_FILE, DESIGN §3), in one import: its schema
// (catalogue-schema), problem wording (catalogue-problems), parsing
// (catalogue-parse) and live reload (catalogue-watcher). The project model and
// its permission and repository rules live in domain/.
export { parseMemory, BUILTIN_DEFAULTS } from './catalogue-schema.js';
export { parseCatalogue, loadCatalogue } from './catalogue-parse.js';
export { CatalogueWatcher, type CatalogueWatcherOptions } from './catalogue-watcher.js';
export { PROJECT_NAME, type Catalogue, type Project } from '../domain/project.js';
export { mayDispatch, projectsFor } from '../domain/permissions.js';
export { findProjectByRepo, repoPath } from '../domain/repositories.js';
