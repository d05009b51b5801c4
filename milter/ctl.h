#ifndef CTL_H
#define CTL_H

struct cfg;

int	ctl_explain(struct cfg *cf, int argc, char **argv);

#endif
