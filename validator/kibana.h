/*
 * kibana.h - what the kibana backend offers the other backends beyond
 * its table (the elasticsearch backend borrows its rule state).
 */
#ifndef FD_KIBANA_H
#define FD_KIBANA_H

/* Start a new poll cycle: rule states cached so far are read afresh. */
void fd_kibana_next_cycle(void *ctx);

#endif
