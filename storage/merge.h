//  merge.h - copies every run of one result database into another (`marina merge`, sweeps with
//  jobs > 1, Slurm job arrays: each element writes its own file, merged afterwards). Runs get
//  new ids in the destination, in their source order; their rounds and round_workers rows
//  follow. The copy is one transaction: all of a source's runs, or none. Columns are matched by
//  name, so both files must have the current schema version (checked, MR_EVERSION).
#ifndef MERGE_H
#define MERGE_H

#include <stdint.h>

#include "mr_err.h"

//  Copies the runs of src_path into dst_path (created if missing). *added (may be NULL) gets
//  the number of runs copied. MR_OK, MR_EIO (unreadable file, SQLite error), MR_EVERSION.
int db_merge(const char *dst_path, const char *src_path, int64_t *added, mr_err_t *err);

//  Writes a copy of the database src_path, with every committed transaction (those still in its
//  write-ahead log too, e.g. of a recorder that was killed), as the new file dst_path (which must
//  not exist). A byte copy of the main file alone would lose them. MR_OK, or MR_EIO naming the
//  file.
int db_copy(const char *src_path, const char *dst_path, mr_err_t *err);

#endif
