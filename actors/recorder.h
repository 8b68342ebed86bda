//  recorder.h - the recorder actor: the only writer of the result database.
//  Connects a DEALER to the server's ep_stats (a ROUTER), says HELLO on it (the server then sends
//  this connection, and no other, the run's rows), then writes RUN as a runs row, every STATS as
//  a rounds row (batched transactions), every CHECKPOINT into the checkpoints table, and STOP as
//  the run's final status. It acknowledges what it committed (ACK, at most ACK_DELAY_S after a
//  row arrives; ACK done after the final status), so that the server can forget those rows. A RUN
//  whose launch token names a run still 'running' in the file continues that run (a recorder
//  restarted after kill -9, or `marina run --resume`): rows already recorded are skipped, so no
//  row is written twice. If the server goes silent past timeout_s, or the host stops it first,
//  the run is finished as "failed" / "aborted" with the rows received so far committed.
#ifndef RECORDER_H
#define RECORDER_H

#include <czmq.h>

typedef struct {
    const char *ep_stats;  // the server's stats endpoint (connect)
    const char *db_path;   // the SQLite file
    double timeout_s;      // give up when the server is silent this long
    const char *keys_dir;  // security=curve: the keys folder (security.h); NULL: plain
    const char *token;     // the launcher's run token, said in HELLO ("token=..."); NULL: none
} recorder_cfg_t;

//  The zactor function; args is a const recorder_cfg_t * that outlives the actor.
void recorder_actor(zsock_t *pipe, void *args);

#endif
