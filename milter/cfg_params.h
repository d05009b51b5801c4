#ifndef CFG_PARAMS_H
#define CFG_PARAMS_H

#include <stddef.h>

enum cfg_ptype {
	CFG_T_STR,
	CFG_T_INT,
	CFG_T_BOOL,
	CFG_T_ENUM,		/* p_sub: "a|b|c", stored as the index */
	CFG_T_MODE,		/* octal permission string "0660" */
	CFG_T_STRLIST,		/* struct cfg_strlist */
	CFG_T_CIDRLIST,		/* struct cfg_cidrlist */
	CFG_T_INTLIST,		/* struct cfg_intlist, each in [min, max] */
	CFG_T_GROUP,		/* p_sub: scope of the group */
	CFG_T_LIST		/* p_sub: scope of each group; p_elsize */
};

struct cfg_param {
	const char *p_scope;	/* "" top, "milter", "tenant", ... */
	const char *p_name;
	enum cfg_ptype p_type;
	const char *p_sub;
	size_t	p_elsize;
	const char *p_default;	/* text form; NULL: none */
	long	p_min;
	long	p_max;
	size_t	p_offset;
	int	p_required;
	const char *p_doc;
};

extern const struct cfg_param cfg_params[];
extern const size_t cfg_nparams;

const struct cfg_param *cfg_param_find(const char *scope, const char *name);

#endif
